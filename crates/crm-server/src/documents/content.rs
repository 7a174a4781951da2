//! What an uploaded file is, decided from its content rather than from what the client claims:
//! its type sniffed from its first bytes ([`SNIFF_BYTES`]), which must be one of the allowed
//! kinds and agree with the extension of the file's name; and that name made safe to show
//! (it is kept for display only: no part of it ever reaches a storage key).

use std::fmt;

/// How many leading bytes [`check`] needs to tell every allowed kind apart (the office
/// formats are ZIP archives recognised by their first entries).
pub const SNIFF_BYTES: usize = 8192;

/// A kind of file the server accepts: its media type and the extensions its name may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub mime: &'static str,
    pub extensions: &'static [&'static str],
}

/// The kinds accepted unless configured otherwise: PDF, PNG, JPEG, WebP, HEIC/HEIF, and the
/// common office formats (Word, Excel, PowerPoint, old and new; OpenDocument text and sheet).
pub const DEFAULT_KINDS: &[Kind] = &[
    Kind {
        mime: "application/pdf",
        extensions: &["pdf"],
    },
    Kind {
        mime: "image/png",
        extensions: &["png"],
    },
    Kind {
        mime: "image/jpeg",
        extensions: &["jpg", "jpeg"],
    },
    Kind {
        mime: "image/webp",
        extensions: &["webp"],
    },
    Kind {
        mime: "image/heif",
        extensions: &["heic", "heif"],
    },
    Kind {
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        extensions: &["docx"],
    },
    Kind {
        mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        extensions: &["xlsx"],
    },
    Kind {
        mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        extensions: &["pptx"],
    },
    Kind {
        mime: "application/msword",
        extensions: &["doc"],
    },
    Kind {
        mime: "application/vnd.ms-excel",
        extensions: &["xls"],
    },
    Kind {
        mime: "application/vnd.ms-powerpoint",
        extensions: &["ppt"],
    },
    Kind {
        mime: "application/vnd.oasis.opendocument.text",
        extensions: &["odt"],
    },
    Kind {
        mime: "application/vnd.oasis.opendocument.spreadsheet",
        extensions: &["ods"],
    },
];

/// Kinds that may be allowed by configuration besides the default ones.
const OTHER_KINDS: &[Kind] = &[
    Kind {
        mime: "image/gif",
        extensions: &["gif"],
    },
    Kind {
        mime: "image/tiff",
        extensions: &["tif", "tiff"],
    },
];

/// The kinds named by a comma-separated list of extensions (`CRM_DOCUMENT_TYPES`).
pub fn kinds_for(extensions: &str) -> Result<Vec<Kind>, String> {
    let mut kinds: Vec<Kind> = Vec::new();
    for extension in extensions
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let extension = extension.trim_start_matches('.');
        let kind = DEFAULT_KINDS
            .iter()
            .chain(OTHER_KINDS)
            .find(|kind| {
                kind.extensions
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(extension))
            })
            .ok_or_else(|| {
                format!("CRM_DOCUMENT_TYPES: `{extension}` is not a known kind of file")
            })?;
        if !kinds.contains(kind) {
            kinds.push(*kind);
        }
    }
    if kinds.is_empty() {
        return Err("CRM_DOCUMENT_TYPES names no kind of file".to_owned());
    }
    Ok(kinds)
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentError {
    /// Its first bytes match no known kind (plain text, an unknown format, an empty file).
    Unrecognised,
    /// A known kind outside the allowed ones (an executable, an archive …).
    NotAllowed { mime: &'static str },
    /// An allowed kind whose name's extension belongs to another (a PNG named `.pdf`), or a
    /// name without an extension.
    ExtensionMismatch { mime: &'static str },
}

impl ContentError {
    /// The stable `extensions.code` of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            ContentError::Unrecognised | ContentError::NotAllowed { .. } => "UNSUPPORTED_FILE_TYPE",
            ContentError::ExtensionMismatch { .. } => "FILE_TYPE_MISMATCH",
        }
    }
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentError::Unrecognised => write!(f, "the file's type is not recognised"),
            ContentError::NotAllowed { mime } => write!(f, "files of type {mime} are not accepted"),
            ContentError::ExtensionMismatch { mime } => write!(
                f,
                "the file's content ({mime}) does not match the extension of its name"
            ),
        }
    }
}

/// The kind of a file from its first bytes (`head`, at least [`SNIFF_BYTES`] of them when the
/// file is that long) and its name, among `allowed`.
pub fn check(head: &[u8], file_name: &str, allowed: &[Kind]) -> Result<Kind, ContentError> {
    let sniffed = infer::get(head).ok_or(ContentError::Unrecognised)?;
    let mime = sniffed.mime_type();
    let kind = allowed
        .iter()
        .find(|kind| kind.mime == mime)
        .copied()
        .ok_or(ContentError::NotAllowed { mime })?;
    let extension = extension(file_name).ok_or(ContentError::ExtensionMismatch { mime })?;
    if kind
        .extensions
        .iter()
        .any(|e| e.eq_ignore_ascii_case(&extension))
    {
        Ok(kind)
    } else {
        Err(ContentError::ExtensionMismatch { mime })
    }
}

/// The extension of the last component of `file_name`, without its dot.
fn extension(file_name: &str) -> Option<String> {
    let name = display_name(file_name);
    let (stem, extension) = name.rsplit_once('.')?;
    (!stem.is_empty() && !extension.is_empty()).then(|| extension.to_owned())
}

/// The longest name kept, in bytes (a file system's usual limit).
const MAX_NAME_BYTES: usize = 255;

/// `raw` made safe to show and to put in a `Content-Disposition` header: its last path
/// component (`/` and `\` both separate), without control or bidirectional-override
/// characters, without leading dots and surrounding spaces, at most 255 bytes (cut on a
/// character boundary); `file` when nothing is left.
pub fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut end = trimmed.len().min(MAX_NAME_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    match &trimmed[..end] {
        "" => "file".to_owned(),
        name => name.to_owned(),
    }
}

/// The characters that reorder text when shown (`invoice` + U+202E + `fdp.exe` is shown as
/// `invoiceexe.pdf`).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
    /// The first bytes of an x86-64 Linux executable (its 64-byte ELF header).
    const ELF: &[u8; 64] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0\
        \x40\x10\x40\0\0\0\0\0\x40\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x40\0\x38\0\
        \x01\0\0\0\0\0\0\0";

    #[test]
    fn the_content_decides_the_type_and_the_name_must_agree() {
        assert_eq!(
            check(PDF, "contract.pdf", DEFAULT_KINDS).map(|k| k.mime),
            Ok("application/pdf")
        );
        assert_eq!(
            check(JPEG, "Scan.JPEG", DEFAULT_KINDS).map(|k| k.mime),
            Ok("image/jpeg")
        );
        assert_eq!(
            check(JPEG, "scan.jpg", DEFAULT_KINDS).map(|k| k.mime),
            Ok("image/jpeg")
        );
        assert_eq!(
            check(PNG, "contract.pdf", DEFAULT_KINDS),
            Err(ContentError::ExtensionMismatch { mime: "image/png" })
        );
        assert_eq!(
            check(PNG, "no-extension", DEFAULT_KINDS),
            Err(ContentError::ExtensionMismatch { mime: "image/png" })
        );
    }

    #[test]
    fn an_executable_named_pdf_and_unknown_content_are_refused() {
        let executable = check(ELF, "contract.pdf", DEFAULT_KINDS);
        assert!(
            matches!(executable, Err(ContentError::NotAllowed { .. })),
            "{executable:?}"
        );
        assert_eq!(
            executable.map_err(|e| e.code()),
            Err("UNSUPPORTED_FILE_TYPE")
        );
        assert_eq!(
            check(b"just some text", "notes.pdf", DEFAULT_KINDS),
            Err(ContentError::Unrecognised)
        );
        assert_eq!(
            check(b"", "empty.pdf", DEFAULT_KINDS),
            Err(ContentError::Unrecognised)
        );
        // Allowed kinds are configurable: PNG refused when only PDF is.
        let only_pdf = kinds_for("pdf");
        assert_eq!(only_pdf.as_deref().map(<[Kind]>::len), Ok(1));
        assert_eq!(
            check(PNG, "a.png", only_pdf.as_deref().unwrap_or_default()),
            Err(ContentError::NotAllowed { mime: "image/png" })
        );
        assert_eq!(
            kinds_for(" .PDF, jpeg,jpg").map(|kinds| kinds.iter().map(|k| k.mime).collect()),
            Ok(vec!["application/pdf", "image/jpeg"])
        );
        assert!(kinds_for("exe").is_err());
        assert!(kinds_for(" , ").is_err());
    }

    #[test]
    fn names_keep_no_path_no_control_characters_and_a_bounded_length() {
        assert_eq!(display_name("../../etc/passwd.pdf"), "passwd.pdf");
        assert_eq!(display_name("C:\\Users\\ann\\scan.png"), "scan.png");
        assert_eq!(display_name("in\u{202E}fdp.exe"), "infdp.exe");
        assert_eq!(display_name("a\r\nb\0.pdf"), "ab.pdf");
        assert_eq!(display_name(" ..hidden.pdf "), "hidden.pdf");
        assert_eq!(display_name("dir/"), "file");
        assert_eq!(
            display_name("Société générale – contrat.pdf"),
            "Société générale – contrat.pdf"
        );
        let long = "é".repeat(200) + ".pdf";
        let kept = display_name(&long);
        assert!(
            kept.len() <= 255 && kept.chars().all(|c| c == 'é'),
            "{kept}"
        );
    }
}
