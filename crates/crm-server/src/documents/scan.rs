//! The scanning hook: every uploaded file can be handed to a [`Scanner`] after it is stored
//! and before its document row is committed; a file the scanner rejects is removed and the
//! upload refused (`FILE_REJECTED`). None by default; [`Clamd`] is the adapter for ClamAV's
//! daemon (`CRM_CLAMD_ADDRESS`).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Refused, with the scanner's reason (the signature's name).
    Rejected(String),
}

/// Checks a file's content before its document is saved.
#[async_trait::async_trait]
pub trait Scanner: Send + Sync + std::fmt::Debug {
    /// The verdict on `content` (the whole file, in chunks). An error refuses the upload too:
    /// an unscanned file is never saved while a scanner is configured.
    async fn scan(
        &self,
        content: BoxStream<'_, std::io::Result<Bytes>>,
    ) -> std::io::Result<Verdict>;
}

/// ClamAV's daemon over TCP, with its `INSTREAM` command (the file sent in chunks; clamd's
/// `StreamMaxLength` must be at least `CRM_UPLOAD_MAX_FILE_BYTES`).
#[derive(Debug, Clone)]
pub struct Clamd {
    address: String,
    timeout: Duration,
}

impl Clamd {
    /// The daemon listening on `address` (`host:port`).
    pub fn new(address: impl Into<String>) -> Clamd {
        Clamd {
            address: address.into(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// Largest chunk sent to clamd at once.
const CLAMD_CHUNK: usize = 64 * 1024;

#[async_trait::async_trait]
impl Scanner for Clamd {
    async fn scan(
        &self,
        mut content: BoxStream<'_, std::io::Result<Bytes>>,
    ) -> std::io::Result<Verdict> {
        let exchange = async {
            let mut socket = tokio::net::TcpStream::connect(&self.address).await?;
            socket.write_all(b"zINSTREAM\0").await?;
            while let Some(chunk) = content.next().await {
                let chunk = chunk?;
                for piece in chunk.chunks(CLAMD_CHUNK) {
                    let length = u32::try_from(piece.len()).map_err(std::io::Error::other)?;
                    socket.write_all(&length.to_be_bytes()).await?;
                    socket.write_all(piece).await?;
                }
            }
            socket.write_all(&0u32.to_be_bytes()).await?;
            let mut reply = Vec::new();
            socket.take(4096).read_to_end(&mut reply).await?;
            Ok::<_, std::io::Error>(reply)
        };
        let reply = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| std::io::Error::other("clamd did not answer in time"))??;
        verdict(&reply)
    }
}

/// Reads clamd's answer: `stream: OK`, `stream: <signature> FOUND` or `… ERROR`.
fn verdict(reply: &[u8]) -> std::io::Result<Verdict> {
    let text = String::from_utf8_lossy(reply);
    let text = text.trim_end_matches(['\0', '\n']).trim();
    let result = text.strip_prefix("stream:").unwrap_or(text).trim();
    if result == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(signature) = result.strip_suffix(" FOUND") {
        Ok(Verdict::Rejected(signature.trim().to_owned()))
    } else {
        Err(std::io::Error::other(format!("clamd: {result}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamd_answers_are_read() {
        assert_eq!(verdict(b"stream: OK\0").ok(), Some(Verdict::Clean));
        assert_eq!(
            verdict(b"stream: Eicar-Test-Signature FOUND\0").ok(),
            Some(Verdict::Rejected("Eicar-Test-Signature".to_owned()))
        );
        assert!(verdict(b"INSTREAM size limit exceeded. ERROR\0").is_err());
    }
}
