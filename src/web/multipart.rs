//! `multipart/form-data` (RFC 7578) over a body already in memory. The CSRF check reads
//! every posted body whole, up to its limit, before a handler runs, so there is nothing to
//! stream: a small parser over that buffer serves both the check and the upload handler,
//! without another dependency.

/// One part of a form.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    /// Present for a file field (possibly empty: no file chosen).
    pub filename: Option<String>,
    pub data: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let (essence, params) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// The parts of `body`, or `None` when it is not a well-formed form with this boundary.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<Part<'a>>> {
    let delimiter = format!("\r\n--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    // A delimiter is one only when a line break or the closing `--` follows it: the same
    // characters inside a file's content followed by anything else are content.
    let next_delimiter = |from: usize| {
        let mut at = from;
        loop {
            let found = finder.find(&body[at..])? + at;
            let after = &body[found + delimiter.len()..];
            if after.starts_with(b"\r\n") || after.starts_with(b"--") {
                return Some(found);
            }
            at = found + 1;
        }
    };
    // The first delimiter may open the body, without a line break before it.
    let first = &delimiter[2..];
    let mut at = if body.starts_with(first.as_bytes()) {
        first.len()
    } else {
        next_delimiter(0)? + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        let rest = rest.strip_prefix(b"\r\n")?;
        let head_end = memchr::memmem::find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content_start = at + 2 + head_end + 4;
        let end = next_delimiter(content_start)?;
        let (name, filename) = disposition(head)?;
        parts.push(Part {
            name,
            filename,
            data: &body[content_start..end],
        });
        at = end + delimiter.len();
    }
}

/// The `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(head: &str) -> Option<(String, Option<String>)> {
    let line = head.split("\r\n").find(|l| {
        l.split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let value = line.split_once(':')?.1;
    let mut name = None;
    let mut filename = None;
    for param in split_params(value).into_iter().skip(1) {
        let Some((k, v)) = param.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v),
            "filename" => filename = Some(v),
            _ => {}
        }
    }
    Some((name?, filename))
}

/// Splits a header value at the `;` outside quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// A quoted string's text. Browsers escape `"` as `%22` in file names (WHATWG HTML); a
/// backslash escape is read too.
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return v.to_string();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out.replace("%22", "\"")
}

/// The text of field `name`, if the body is a form that has it.
pub fn field(content_type: &str, body: &[u8], name: &str) -> Option<String> {
    let parts = parse(body, &boundary(content_type)?)?;
    parts
        .into_iter()
        .find(|p| p.name == name && p.filename.is_none())
        .and_then(|p| String::from_utf8(p.data.to_vec()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b \\\"c\\\".png\"\r\n\
Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZx\r\n--XyZ--\r\n";

    #[test]
    fn reads_fields_and_files() {
        let ct = "multipart/form-data; boundary=XyZ";
        assert_eq!(boundary(ct).as_deref(), Some("XyZ"));
        let parts = parse(BODY, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].data, b"tok");
        assert_eq!(parts[1].filename.as_deref(), Some("a;b \"c\".png"));
        // A delimiter-like line that is not the delimiter stays in the content.
        assert_eq!(parts[1].data, b"\x89PNG\r\n--XyZx");
        assert_eq!(field(ct, BODY, "csrf").as_deref(), Some("tok"));
        assert_eq!(field(ct, BODY, "file"), None);
    }

    #[test]
    fn refuses_what_is_not_a_form() {
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert!(parse(b"csrf=tok", "XyZ").is_none());
        assert!(
            parse(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
                "XyZ"
            )
            .is_none()
        );
    }
}
