//! A websocket on a connection the HTTP server handed over after answering its upgrade with
//! 101 (see `http::upgrade`), straight on the TCP stream: frames read with actix-http's
//! websocket codec, and written whole (text, ping, pong, close; never fragmented or masked).
//! An idle socket holds no buffer at all: bytes are read into a small one on the stack and kept
//! only while a frame is incomplete, and each frame written is put together, written and freed. (Left inside actix-web's HTTP/1 dispatcher, as actix-ws does, every socket
//! kept the dispatcher's 8 KiB read and 8 KiB write buffers and its 3 KiB task for its lifetime.)

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, ProtocolError};
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use std::io;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// What a read gives the session.
#[derive(Debug)]
pub enum Incoming {
    Text(ByteString),
    Ping(Bytes),
    Pong,
    /// The client closed, or the connection ended.
    Closed,
    /// Binary or fragmented frames: this protocol speaks whole text frames only.
    NotText,
    /// A frame announced (or grown) over the size limit.
    TooBig,
    /// Bytes that are not the websocket protocol (unmasked, bad opcode, invalid UTF-8 text).
    Invalid,
}

/// The reading side: whatever part of a frame has arrived, and the codec that parses it.
pub struct Reader {
    io: OwnedReadHalf,
    pending: BytesMut,
    codec: Codec,
    limit: FrameLimit,
}

/// The writing side. A write cut off halfway (a timeout, the socket kicked) leaves the stream
/// mid-frame: nothing more is written to it, not even a close frame.
pub struct Writer {
    io: OwnedWriteHalf,
    broken: bool,
}

/// Splits a taken-over connection; `already` is what the HTTP server had read past the request.
pub fn split(stream: TcpStream, already: BytesMut, max_frame: usize) -> (Reader, Writer) {
    let (read, write) = stream.into_split();
    let mut reader = Reader {
        io: read,
        pending: BytesMut::new(),
        codec: Codec::new().max_size(max_frame),
        limit: FrameLimit::new(max_frame as u64),
    };
    reader.take(&already);
    (reader, Writer { io: write, broken: false })
}

/// Bytes read per system call: a chat frame fits; a bigger one takes several reads.
const READ_CHUNK: usize = 4096;

impl Reader {
    /// The next frame. Cancel-safe: bytes are only ever taken whole into `pending`.
    pub async fn recv(&mut self) -> Incoming {
        loop {
            if self.limit.refused {
                return Incoming::TooBig;
            }
            match self.codec.decode(&mut self.pending) {
                Ok(Some(frame)) => {
                    if self.pending.is_empty() {
                        self.pending = BytesMut::new(); // nothing kept while idle
                    }
                    return match frame {
                        Frame::Text(bytes) => ByteString::try_from(bytes).map_or(Incoming::Invalid, Incoming::Text),
                        Frame::Ping(bytes) => Incoming::Ping(bytes),
                        Frame::Pong(_) => Incoming::Pong,
                        Frame::Close(_) => Incoming::Closed,
                        Frame::Binary(_) | Frame::Continuation(_) => Incoming::NotText,
                    };
                }
                Ok(None) => {}
                Err(ProtocolError::Overflow) => return Incoming::TooBig,
                Err(_) => return Incoming::Invalid,
            }
            if self.io.readable().await.is_err() {
                return Incoming::Closed;
            }
            match self.read_now() {
                Ok(0) => return Incoming::Closed,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Incoming::Closed,
            }
        }
    }

    /// Reads and drops whatever the client still sends until it closes its side: closing a
    /// socket with unread bytes in it resets the connection, and the client would lose the close
    /// frame it was sent.
    pub async fn drain(self) {
        while self.io.readable().await.is_ok() {
            match self.discard_now() {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }

    /// Reads and drops what is there (the buffer lives only in this call, not in the task).
    fn discard_now(&self) -> io::Result<usize> {
        self.io.try_read(&mut [0u8; 512])
    }

    /// Reads what is there without waiting, through a buffer on the stack.
    fn read_now(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; READ_CHUNK];
        let n = self.io.try_read(&mut chunk)?;
        self.take(&chunk[..n]);
        Ok(n)
    }

    fn take(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() && self.limit.admit(bytes) {
            self.pending.extend_from_slice(bytes);
        }
    }
}

impl Writer {
    pub async fn text(&mut self, text: &str) -> io::Result<()> {
        self.send(OpCode::Text, text.as_bytes()).await
    }

    pub async fn ping(&mut self) -> io::Result<()> {
        self.send(OpCode::Ping, b"").await
    }

    pub async fn pong(&mut self, payload: &[u8]) -> io::Result<()> {
        self.send(OpCode::Pong, payload).await
    }

    /// Sends a close frame (unless the stream is mid-frame) and ends the writing side.
    pub async fn close(mut self, code: u16, reason: &str) {
        if !self.broken {
            let payload = [&code.to_be_bytes()[..], reason.as_bytes()].concat();
            let _ = self.send(OpCode::Close, &payload).await;
        }
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut self.io).await;
    }

    /// Writes one whole unmasked frame (a server's frames are never masked).
    async fn send(&mut self, opcode: OpCode, payload: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let mut frame = Vec::with_capacity(payload.len() + 10);
        frame.push(0x80 | opcode as u8); // FIN: never fragmented
        match payload.len() {
            n @ 0..=125 => frame.push(n as u8),
            n @ 126..=0xffff => frame.extend([126].into_iter().chain((n as u16).to_be_bytes())),
            n => frame.extend([127].into_iter().chain((n as u64).to_be_bytes())),
        }
        frame.extend_from_slice(payload);
        // Broken until the whole frame is out: a cancelled write leaves it so.
        self.broken = true;
        let mut rest = &frame[..];
        while !rest.is_empty() {
            self.io.writable().await?;
            match self.io.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        self.broken = false;
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum OpCode {
    Text = 0x1,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

/// Cuts a client off as soon as it announces a frame over the limit. The codec checks the size
/// only once the whole frame is in, so without this a client announcing an endless frame (say
/// 2^63 bytes) would have everything it sends kept until the heartbeat gave up on it. Reads
/// only the frames' headers.
struct FrameLimit {
    max: u64,
    /// The header being read (at most 14 bytes) and how much of it is in; none inside a payload.
    header: [u8; 14],
    read: usize,
    /// Payload bytes of the current frame still to come.
    skip: u64,
    refused: bool,
}

impl FrameLimit {
    fn new(max: u64) -> FrameLimit {
        FrameLimit { max, header: [0; 14], read: 0, skip: 0, refused: false }
    }

    /// Follows the frames through `chunk`; false (and refused from then on) when one is
    /// announced over the limit.
    fn admit(&mut self, mut chunk: &[u8]) -> bool {
        while !chunk.is_empty() && !self.refused {
            if self.skip > 0 {
                let n = self.skip.min(chunk.len() as u64);
                self.skip -= n;
                chunk = &chunk[n as usize..];
                continue;
            }
            self.header[self.read] = chunk[0];
            self.read += 1;
            chunk = &chunk[1..];
            if self.read < 2 {
                continue;
            }
            let extended = match self.header[1] & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
            if self.read < 2 + extended + mask {
                continue;
            }
            let length = match extended {
                0 => u64::from(self.header[1] & 0x7f),
                n => self.header[2..2 + n].iter().fold(0, |length, b| length << 8 | u64::from(*b)),
            };
            self.refused = length > self.max;
            self.skip = length;
            self.read = 0;
        }
        !self.refused
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_announced_over_the_limit_are_refused_from_their_header() {
        let limit = crate::realtime::protocol::MAX_FRAME_BYTES as u64;
        let header = |length: u64| -> Vec<u8> {
            let mut h = vec![0x81];
            match length {
                0..=125 => h.push(0x80 | length as u8),
                126..=65535 => h.extend([0x80 | 126].into_iter().chain((length as u16).to_be_bytes())),
                _ => h.extend([0x80 | 127].into_iter().chain(length.to_be_bytes())),
            }
            h.extend([1, 2, 3, 4]); // the mask
            h
        };
        let frame = |length: u64| [header(length), vec![b'x'; length as usize]].concat();
        let mut fine = super::FrameLimit::new(limit);
        let stream: Vec<u8> = [frame(5), frame(200), frame(limit), frame(0)].concat();
        // However the bytes are cut into chunks.
        for chunk in stream.chunks(7) {
            assert!(fine.admit(chunk));
        }
        for length in [limit + 1, u64::MAX >> 1, u64::MAX] {
            let mut limited = super::FrameLimit::new(limit);
            assert!(limited.admit(&frame(5)));
            let head = header(length);
            assert!(limited.admit(&head[..3]));
            assert!(!limited.admit(&head[3..]), "{length}");
            assert!(!limited.admit(b"more"), "refused for good");
        }
    }
}
