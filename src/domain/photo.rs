//! An agent's photo as uploaded: one of a few image types, recognised by its first bytes (a
//! browser shows it by that type, so the header alone is not trusted), and small.

use super::Invalid;

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The image types a photo may be, by their magic bytes.
const KINDS: [(&str, &[u8], usize); 4] = [
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/gif", b"GIF8", 0),
    ("image/webp", b"WEBP", 8),
];

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoError {
    TooLarge,
    Unsupported,
}

impl PhotoError {
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::TooLarge => "photo_too_large",
            PhotoError::Unsupported => "photo_type_unsupported",
        }
    }

    pub fn sentence(&self) -> String {
        match self {
            PhotoError::TooLarge => {
                format!("This photo is too large: photos may be at most {}.", super::human_size(MAX_PHOTO_BYTES as u64))
            }
            PhotoError::Unsupported => "Choose a PNG, JPEG, WebP or GIF image for your photo.".to_owned(),
        }
    }
}

impl From<PhotoError> for Invalid {
    fn from(e: PhotoError) -> Invalid {
        Invalid::new(e.code(), e.sentence())
    }
}

/// The content type of `data` if it is a photo we accept that matches what the client said it
/// is (`declared`, its `Content-Type` without parameters).
pub fn photo_type(declared: &str, data: &[u8]) -> Result<&'static str, PhotoError> {
    if data.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let declared = declared.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let sniffed = KINDS
        .iter()
        .find(|(_, magic, at)| data.get(*at..at + magic.len()) == Some(magic))
        .filter(|(ty, _, _)| *ty != "image/webp" || data.starts_with(b"RIFF"))
        .map(|(ty, _, _)| *ty)
        .ok_or(PhotoError::Unsupported)?;
    if declared != sniffed {
        return Err(PhotoError::Unsupported);
    }
    Ok(sniffed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_known_by_its_bytes_not_its_header() {
        assert_eq!(photo_type("image/png", b"\x89PNG\r\n\x1a\nrest"), Ok("image/png"));
        assert_eq!(photo_type("image/webp", b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert_eq!(photo_type("image/png", b"<svg onload=alert(1)>"), Err(PhotoError::Unsupported));
        assert_eq!(photo_type("image/jpeg", b"\x89PNG\r\n\x1a\nrest"), Err(PhotoError::Unsupported));
        assert_eq!(photo_type("image/svg+xml", b"GIF89a"), Err(PhotoError::Unsupported));
        assert_eq!(photo_type("image/gif", &vec![b'G'; MAX_PHOTO_BYTES + 1]), Err(PhotoError::TooLarge));
    }
}
