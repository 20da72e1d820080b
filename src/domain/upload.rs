//! What a team may upload: images and handouts, recognised by their first bytes, never by
//! their name or the type the browser declared (both are the uploader's to choose).

/// A kind of file the hub accepts and serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
    Docx,
    Xlsx,
    Pptx,
}

/// What the upload form says is accepted, for a refusal.
pub const ACCEPTED: &str = "PNG, JPEG, GIF or WebP images, and PDF, Word (.docx), Excel (.xlsx) or PowerPoint (.pptx) handouts";

impl FileKind {
    /// The kind of `bytes`, if the hub accepts it. SVG is refused on purpose: it is a
    /// document that can carry script, not a picture. Office files are ZIP archives with the
    /// parts of one of the three formats; anything else in a ZIP is refused.
    pub fn detect(bytes: &[u8]) -> Option<FileKind> {
        let starts = |magic: &[u8]| bytes.starts_with(magic);
        if starts(b"\x89PNG\r\n\x1a\n") {
            Some(FileKind::Png)
        } else if starts(b"\xff\xd8\xff") {
            Some(FileKind::Jpeg)
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            Some(FileKind::Gif)
        } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(FileKind::Webp)
        } else if starts(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if starts(b"PK\x03\x04") && contains(bytes, b"[Content_Types].xml") {
            // The part names sit in the archive's headers in plain text.
            if contains(bytes, b"word/document.xml") {
                Some(FileKind::Docx)
            } else if contains(bytes, b"xl/workbook.xml") {
                Some(FileKind::Xlsx)
            } else if contains(bytes, b"ppt/presentation.xml") {
                Some(FileKind::Pptx)
            } else {
                None
            }
        } else {
            None
        }
    }

    /// The kind a stored content type names (what `content_type` gave).
    pub fn from_content_type(content_type: &str) -> Option<FileKind> {
        FileKind::ALL
            .into_iter()
            .find(|k| k.content_type() == content_type)
    }

    pub const ALL: [FileKind; 8] = [
        FileKind::Png,
        FileKind::Jpeg,
        FileKind::Gif,
        FileKind::Webp,
        FileKind::Pdf,
        FileKind::Docx,
        FileKind::Xlsx,
        FileKind::Pptx,
    ];

    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Pdf => "application/pdf",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Gif => "gif",
            FileKind::Webp => "webp",
            FileKind::Pdf => "pdf",
            FileKind::Docx => "docx",
            FileKind::Xlsx => "xlsx",
            FileKind::Pptx => "pptx",
        }
    }

    /// Images are shown in the page; everything else is a handout to download.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileKind::Png | FileKind::Jpeg | FileKind::Gif | FileKind::Webp
        )
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// The longest file name kept, in characters, extension included.
pub const MAX_FILE_NAME: usize = 80;

/// A file name that is safe in a URL path, a Markdown link and a `Content-Disposition`
/// header as it is: letters, digits, `.`, `_` and `-`, ending in the extension of what the
/// file really is (a PDF uploaded as `x.png` is `x.pdf`).
pub fn file_name(uploaded: &str, kind: FileKind) -> String {
    // Browsers on Windows have sent the whole path.
    let base = uploaded.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    };
    let mut out = String::new();
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            c
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let ext = kind.extension();
    let mut stem: String = out
        .trim_matches(['-', '.'])
        .chars()
        .take(MAX_FILE_NAME - ext.len() - 1)
        .collect();
    stem = stem.trim_end_matches(['-', '.']).to_string();
    if stem.is_empty() {
        stem = if kind.is_image() { "image" } else { "handout" }.into();
    }
    format!("{stem}.{ext}")
}

/// Whether `s` is a SHA-256 as the hub writes it: 64 lowercase hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_bytes_not_the_name() {
        assert_eq!(
            FileKind::detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(FileKind::Png)
        );
        assert_eq!(FileKind::detect(b"\xff\xd8\xff\xe0"), Some(FileKind::Jpeg));
        assert_eq!(FileKind::detect(b"GIF89a\x01\0"), Some(FileKind::Gif));
        assert_eq!(
            FileKind::detect(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(FileKind::Webp)
        );
        assert_eq!(FileKind::detect(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(
            FileKind::detect(b"PK\x03\x04....[Content_Types].xml....word/document.xml"),
            Some(FileKind::Docx)
        );
        for refused in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            b"<?xml version=\"1.0\"?><svg/>",
            b"<html><script>alert(1)</script>",
            b"PK\x03\x04 just a zip",
            b"",
            b"RIFF\x10\0\0\0WAVE",
        ] {
            assert_eq!(FileKind::detect(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn names_are_safe_and_tell_the_real_kind() {
        assert_eq!(
            file_name("Exit slip (week 3).PNG", FileKind::Png),
            "Exit-slip-week-3.png"
        );
        assert_eq!(
            file_name("C:\\Users\\me\\plan.png", FileKind::Pdf),
            "plan.pdf"
        );
        assert_eq!(file_name("\"><script>.png", FileKind::Png), "script.png");
        assert_eq!(file_name("", FileKind::Gif), "image.gif");
        assert_eq!(file_name("...", FileKind::Pdf), "handout.pdf");
        let long = file_name(&"a".repeat(500), FileKind::Pdf);
        assert_eq!(long.len(), MAX_FILE_NAME);
        assert!(is_sha256(&"a".repeat(64)) && !is_sha256(&"A".repeat(64)));
    }
}
