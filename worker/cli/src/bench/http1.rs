//! Just enough HTTP/1.1 over a raw keep-alive TCP connection for the daemon workloads:
//! the load generator's client and the downstream's framing.
//!
//! Why not reqwest or hyper's client? The generator runs on the same 2 cores as the
//! daemon it measures, so every microsecond it spends is taken from the daemon. A
//! request here is one `write` of bytes built with `format!` and a response is one or
//! two `read`s and a header scan; no pool, no header map, no body stream.

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One message's head as the framing needs it.
pub(crate) struct Head {
    /// Bytes up to and including the blank line.
    pub(crate) len: usize,
    /// The first line: `HTTP/1.1 201 Created` or `POST /deliver/7 HTTP/1.1`.
    pub(crate) first_line: String,
    /// `Content-Length`, 0 when absent.
    pub(crate) body_len: usize,
}

/// The head at the start of `buf`, or `None` while it is incomplete. Chunked bodies are
/// refused: neither the daemon's API nor the worker's HTTP client sends them here.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 64 * 1024 {
            bail!("an HTTP head longer than 64 KiB");
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).context("an HTTP head that is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let first_line = lines.next().unwrap_or_default().to_owned();
    let mut body_len = 0;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            body_len = value
                .trim()
                .parse()
                .with_context(|| format!("Content-Length {value:?}"))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("a chunked HTTP body ({line:?}): the bench's framing reads Content-Length only");
        }
    }
    Ok(Some(Head {
        len: end + 4,
        first_line,
        body_len,
    }))
}

/// Reads one whole message (head and body) from `stream` into `buf`, which may already
/// hold the start of it; returns its head, or `None` if the peer closed between messages.
/// The message is `buf[..head.len + head.body_len]`; the caller drains it.
pub(crate) async fn read_message(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Option<Head>> {
    loop {
        if let Some(head) = parse_head(buf)?
            && buf.len() >= head.len + head.body_len
        {
            return Ok(Some(head));
        }
        buf.reserve(4096);
        let n = stream.read_buf(buf).await?;
        if n == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            bail!("the connection closed in the middle of a message");
        }
    }
}

/// A keep-alive client connection: one request at a time, as a user's client sends them.
pub(crate) struct Conn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl Conn {
    pub(crate) async fn connect(addr: &str) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: addr.to_owned(),
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends one request with a JSON body (or none) and reads the response:
    /// (status, body).
    pub(crate) async fn call(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> Result<(u16, Vec<u8>)> {
        let body = json.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await?;
        let head = read_message(&mut self.stream, &mut self.buf)
            .await?
            .context("the daemon closed the connection")?;
        let status = head
            .first_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .with_context(|| format!("a status line {:?}", head.first_line))?;
        let end = head.len + head.body_len;
        let body = self.buf[head.len..end].to_vec();
        self.buf.drain(..end);
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_framed_by_content_length_and_chunked_bodies_are_refused() {
        let msg = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}";
        let head = parse_head(msg).expect("valid").expect("complete");
        assert_eq!((head.len, head.body_len), (msg.len() - 2, 2));
        assert_eq!(head.first_line, "HTTP/1.1 201 Created");
        assert!(
            parse_head(b"POST / HTTP/1.1\r\nhost: x\r\n")
                .expect("valid")
                .is_none()
        );
        let bare = parse_head(b"POST /deliver/3 HTTP/1.1\r\n\r\n").expect("valid");
        assert_eq!(bare.expect("complete").body_len, 0);
        assert!(parse_head(b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
    }
}
