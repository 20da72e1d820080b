//! Where the images of a practice may load from: the hub itself, and the hosts of the
//! `image_hosts` setting. Anything else would make every reader's browser call a third party
//! (a tracking pixel), so the renderer turns such an image into a link and the
//! Content-Security-Policy refuses it in case stored HTML holds one anyway.

/// The image hosts a hub allows besides itself, checked and lowercased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePolicy {
    hosts: Vec<String>,
}

impl ImagePolicy {
    /// From the `image_hosts` setting; every entry must pass [`ImagePolicy::parse_host`].
    pub fn new(hosts: &[String]) -> Result<ImagePolicy, String> {
        let mut hosts = hosts
            .iter()
            .map(|h| ImagePolicy::parse_host(h))
            .collect::<Result<Vec<_>, _>>()?;
        hosts.sort();
        hosts.dedup();
        Ok(ImagePolicy { hosts })
    }

    /// A bare host name (`images.district.org`): no scheme, path, port or wildcard, since the
    /// policy is "https from exactly this host" and anything looser is easy to get wrong.
    pub fn parse_host(raw: &str) -> Result<String, String> {
        let host = raw.trim().to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host.contains("://") {
            return Err(format!(
                "\"{raw}\": give the bare host name without a scheme (images load over https only)"
            ));
        }
        if host.len() > 253 || !host.contains('.') || !host.split('.').all(label_ok) {
            return Err(format!(
                "\"{raw}\" is not a host name like images.district.org (no path, port or wildcard)"
            ));
        }
        Ok(host)
    }

    /// The allowed hosts, sorted.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether an image at `src` may be shown as an image: a path on the hub itself, or an
    /// `https://` address on an allowed host. `data:` and every other scheme are refused
    /// (a `data:` image can hide a large payload in the page, and is never needed: uploads
    /// are served by the hub).
    pub fn allows(&self, src: &str) -> bool {
        match ImageSource::of(src) {
            ImageSource::Hub => true,
            ImageSource::Host { https, host } => https && self.hosts.contains(&host),
            ImageSource::Embedded | ImageSource::Other => false,
        }
    }

    /// What the stored HTML depends on: when it differs from the one recorded in the
    /// database, stored revisions are rendered again (`Db::apply_image_policy`).
    pub fn fingerprint(&self) -> String {
        format!("images-v1:{}", self.hosts.join(","))
    }

    /// The `img-src` sources of the Content-Security-Policy.
    pub fn csp_img_src(&self) -> String {
        let mut out = String::from("'self'");
        for h in &self.hosts {
            out.push_str(" https://");
            out.push_str(h);
        }
        out
    }
}

/// Where an image address points, as far as the policy cares.
#[derive(Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// A path on this hub (`/files/…`, or relative).
    Hub,
    /// An absolute address on another host.
    Host { https: bool, host: String },
    /// `data:`: the image is in the page itself.
    Embedded,
    /// Another scheme, or an address that does not parse.
    Other,
}

impl ImageSource {
    pub fn of(src: &str) -> ImageSource {
        let src = src.trim();
        // `//host/x` and `/\host/x` are other hosts to a browser, not paths.
        if src.starts_with("//") || src.starts_with("/\\") || src.starts_with("\\") {
            return ImageSource::Other;
        }
        let scheme_end = src.find(':');
        let path_start = src.find(['/', '?', '#']);
        let has_scheme = match (scheme_end, path_start) {
            (Some(c), Some(p)) => c < p,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !has_scheme {
            return if src.is_empty() {
                ImageSource::Other
            } else {
                ImageSource::Hub
            };
        }
        if src
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
        {
            return ImageSource::Embedded;
        }
        match url::Url::parse(src) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => match u.host_str() {
                // A port is part of the origin the policy names; an address with one is not
                // "that host".
                Some(h) if u.port().is_none() => ImageSource::Host {
                    https: u.scheme() == "https",
                    host: h.to_ascii_lowercase(),
                },
                _ => ImageSource::Other,
            },
            _ => ImageSource::Other,
        }
    }

    /// The host to name when the image is shown as a link instead.
    pub fn describe(&self) -> String {
        match self {
            ImageSource::Hub => "this hub".into(),
            ImageSource::Host { host, .. } => host.clone(),
            ImageSource::Embedded => "embedded in the text".into(),
            ImageSource::Other => "another site".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> ImagePolicy {
        ImagePolicy::new(&hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn hub_paths_and_listed_https_hosts_are_allowed() {
        let p = policy(&["Images.District.org"]);
        assert!(p.allows("/files/abc/x.png"));
        assert!(p.allows("x.png"));
        assert!(p.allows("https://images.district.org/a.png"));
        assert!(p.allows("HTTPS://IMAGES.DISTRICT.ORG/a.png"));
        assert!(!p.allows("http://images.district.org/a.png"), "http");
        assert!(!p.allows("https://images.district.org:8443/a.png"), "port");
        assert!(!p.allows("https://evil.example/a.png"));
        assert!(!p.allows("https://images.district.org.evil.example/a.png"));
        assert!(!p.allows("//evil.example/a.png"));
        assert!(!p.allows("/\\evil.example/a.png"));
        assert!(!p.allows("data:image/png;base64,AAAA"));
        assert!(!p.allows("javascript:alert(1)"));
        assert!(!p.allows(""));
    }

    #[test]
    fn hosts_must_be_bare_names() {
        for bad in [
            "https://images.district.org",
            "images.district.org/path",
            "images.district.org:443",
            "*.district.org",
            "localhost",
            "",
            "-x.org",
        ] {
            assert!(ImagePolicy::parse_host(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ImagePolicy::parse_host(" Images.District.ORG ").unwrap(),
            "images.district.org"
        );
    }

    #[test]
    fn fingerprint_and_csp_follow_the_hosts() {
        let p = policy(&["b.org", "a.org", "a.org"]);
        assert_eq!(p.csp_img_src(), "'self' https://a.org https://b.org");
        assert_ne!(p.fingerprint(), ImagePolicy::default().fingerprint());
        assert_eq!(ImagePolicy::default().csp_img_src(), "'self'");
    }
}
