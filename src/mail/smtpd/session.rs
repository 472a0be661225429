//! One inbound SMTP session: the command loop, DATA, and the timeouts and caps that keep an
//! idle or chatty client from holding a connection for long.

use super::{clean, Envelope, Handler, Limits};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// RFC 5321 requires at least 512 for a command line; some clients' long MAIL parameters need more.
const MAX_COMMAND_LINE: usize = 1000;
/// Syntax, sequence and unknown-command errors before the session is dropped as hostile.
const MAX_ERRORS: usize = 10;
/// The longest one message may take to arrive after DATA: the client's own DATA termination
/// timeout in RFC 5321 4.5.3.2.6.
const MAX_DATA_TIME: Duration = Duration::from_secs(10 * 60);

/// One line as read: whether it was cut at the limit, and whether it ended with CRLF (not bare LF).
struct Line {
    truncated: bool,
    crlf: bool,
}

/// Appends one line (without its LF) to `out`, at most `limit` bytes of it, discarding the rest.
/// `None` at end of input, including a last line without LF.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<Option<Line>> {
    let mut taken = 0;
    let mut truncated = false;
    let mut last = None;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(None);
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let chunk = &buf[..newline.unwrap_or(buf.len())];
        let keep = chunk.len().min(limit - taken);
        out.extend_from_slice(&chunk[..keep]);
        taken += keep;
        truncated |= keep < chunk.len();
        if let Some(&b) = chunk.last() {
            last = Some(b);
        }
        let consumed = newline.map_or(buf.len(), |i| i + 1);
        reader.consume(consumed);
        if newline.is_some() {
            return Ok(Some(Line { truncated, crlf: last == Some(b'\r') }));
        }
    }
}

enum Read {
    Line(Line),
    Eof,
    TimedOut,
    Stopped,
}

/// What to do after a command.
enum Next {
    Continue,
    Close,
}

pub(super) struct Session {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    peer: SocketAddr,
    limits: Arc<Limits>,
    handler: Handler,
    stop: CancellationToken,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    errors: usize,
    /// Commands that moved no mail since the last message.
    idle_commands: usize,
    /// When the session must end (checked while waiting for a command).
    ends: Instant,
}

impl Session {
    pub(super) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        limits: Arc<Limits>,
        handler: Handler,
        stop: CancellationToken,
    ) -> Session {
        let (reader, writer) = stream.into_split();
        Session {
            reader: BufReader::new(reader),
            writer,
            peer,
            handler,
            stop,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            errors: 0,
            idle_commands: 0,
            ends: Instant::now() + limits.max_session,
            limits,
        }
    }

    pub(super) async fn run(&mut self) -> std::io::Result<()> {
        let host = clean(&self.limits.hostname);
        self.reply(220, &format!("{host} Rapport ESMTP")).await?;
        let mut line = Vec::with_capacity(128);
        loop {
            line.clear();
            if Instant::now() >= self.ends {
                self.timed_out(true).await?;
                return Ok(());
            }
            let deadline = (Instant::now() + self.limits.command_timeout).min(self.ends);
            let read = self.next_line(MAX_COMMAND_LINE + 1, &mut line, deadline).await?;
            let next = match read {
                Read::Line(Line { truncated: true, .. }) => self.error(500, "Line too long").await?,
                Read::Line(Line { crlf, .. }) => {
                    if crlf {
                        line.pop();
                    }
                    match std::str::from_utf8(&line) {
                        Ok(command) => self.command(command).await?,
                        Err(_) => self.error(500, "Invalid characters in command").await?,
                    }
                }
                Read::Eof => {
                    tracing::debug!(peer = %self.peer, "inbound SMTP client disconnected");
                    Next::Close
                }
                Read::TimedOut => self.timed_out(Instant::now() >= self.ends).await?,
                Read::Stopped => self.shutting_down().await?,
            };
            if let Next::Close = next {
                return Ok(());
            }
        }
    }

    /// The next line, unless the client stays silent past `deadline` or the server stops first.
    async fn next_line(&mut self, limit: usize, out: &mut Vec<u8>, deadline: Instant) -> std::io::Result<Read> {
        tokio::select! {
            biased;
            _ = self.stop.cancelled() => Ok(Read::Stopped),
            read = tokio::time::timeout_at(deadline, read_line(&mut self.reader, limit, out)) => {
                match read {
                    Err(_) => Ok(Read::TimedOut),
                    Ok(Ok(Some(line))) => Ok(Read::Line(line)),
                    Ok(Ok(None)) => Ok(Read::Eof),
                    Ok(Err(e)) => Err(e),
                }
            }
        }
    }

    async fn write(&mut self, text: &str) -> std::io::Result<()> {
        // A client that never reads would otherwise hold the session forever once buffers fill.
        match tokio::time::timeout(self.limits.command_timeout, self.writer.write_all(text.as_bytes())).await {
            Ok(written) => written,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    async fn reply(&mut self, code: u16, text: &str) -> std::io::Result<()> {
        self.write(&format!("{code} {}\r\n", clean(text))).await
    }

    /// A client mistake; too many of them end the session.
    async fn error(&mut self, code: u16, text: &str) -> std::io::Result<Next> {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            tracing::warn!(peer = %self.peer, "inbound SMTP: too many errors, closing");
            let host = clean(&self.limits.hostname);
            self.reply(421, &format!("{host} Too many errors, closing connection")).await?;
            return Ok(Next::Close);
        }
        self.reply(code, text).await?;
        Ok(Next::Continue)
    }

    /// The client was silent too long, or (`session_over`) the session has lasted too long.
    async fn timed_out(&mut self, session_over: bool) -> std::io::Result<Next> {
        let host = clean(&self.limits.hostname);
        if session_over {
            tracing::debug!(peer = %self.peer, "inbound SMTP session lasted too long");
            self.reply(421, &format!("{host} Session time limit reached, closing connection")).await?;
        } else {
            tracing::debug!(peer = %self.peer, "inbound SMTP client idle too long");
            self.reply(421, &format!("{host} Timeout, closing connection")).await?;
        }
        Ok(Next::Close)
    }

    /// Counts a command that moves no mail; past the limit since the last message the client
    /// is told 421 and the answer is true: the session ends.
    async fn too_idle(&mut self) -> std::io::Result<bool> {
        self.idle_commands += 1;
        if self.idle_commands <= self.limits.max_idle_commands {
            return Ok(false);
        }
        tracing::debug!(peer = %self.peer, "inbound SMTP: too many commands without mail, closing");
        let host = clean(&self.limits.hostname);
        self.reply(421, &format!("{host} Too many commands without mail, closing connection")).await?;
        Ok(true)
    }

    async fn shutting_down(&mut self) -> std::io::Result<Next> {
        let host = clean(&self.limits.hostname);
        self.reply(421, &format!("{host} Service shutting down, try again later")).await?;
        Ok(Next::Close)
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    async fn command(&mut self, line: &str) -> std::io::Result<Next> {
        let (verb, args) = line.split_once(' ').unwrap_or((line, ""));
        let (verb, args) = (verb.to_ascii_uppercase(), args.trim());
        // The first greeting is needed; another, like these, moves no mail.
        let idle = matches!(verb.as_str(), "RSET" | "NOOP" | "VRFY" | "HELP")
            || (matches!(verb.as_str(), "EHLO" | "HELO") && self.helo.is_some());
        if idle && self.too_idle().await? {
            return Ok(Next::Close);
        }
        match verb.as_str() {
            "EHLO" | "HELO" if args.is_empty() => self.error(501, "Syntax: EHLO hostname").await,
            "EHLO" => {
                self.greeted(args);
                let host = clean(&self.limits.hostname);
                let max = self.limits.max_message_bytes;
                let text =
                    format!("250-{host}\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n");
                self.write(&text).await?;
                Ok(Next::Continue)
            }
            "HELO" => {
                self.greeted(args);
                let host = clean(&self.limits.hostname);
                self.reply(250, &host).await?;
                Ok(Next::Continue)
            }
            "MAIL" => self.mail(args).await,
            "RCPT" => self.rcpt(args).await,
            "DATA" => self.data(args).await,
            "RSET" => {
                self.reset();
                self.reply(250, "OK").await?;
                Ok(Next::Continue)
            }
            "NOOP" => {
                self.reply(250, "OK").await?;
                Ok(Next::Continue)
            }
            "QUIT" => {
                let host = clean(&self.limits.hostname);
                self.reply(221, &format!("{host} closing connection")).await?;
                Ok(Next::Close)
            }
            "VRFY" if args.is_empty() => self.error(501, "Syntax: VRFY address").await,
            "VRFY" => {
                self.reply(252, "Cannot VRFY user, but will accept message and attempt delivery").await?;
                Ok(Next::Continue)
            }
            "HELP" => {
                self.reply(214, "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP").await?;
                Ok(Next::Continue)
            }
            "STARTTLS" => self.error(502, "TLS not available").await,
            "EXPN" | "AUTH" | "BDAT" | "TURN" | "ETRN" | "ATRN" | "SEND" | "SOML" | "SAML" => {
                self.error(502, "Command not implemented").await
            }
            _ => self.error(500, "Command unrecognized").await,
        }
    }

    /// HELO/EHLO starts over, as RSET does.
    fn greeted(&mut self, args: &str) {
        let name = args.split_whitespace().next().unwrap_or(args);
        self.helo = Some(name.to_owned());
        self.reset();
    }

    async fn mail(&mut self, args: &str) -> std::io::Result<Next> {
        if self.helo.is_none() {
            return self.error(503, "Send HELO/EHLO first").await;
        }
        if self.mail_from.is_some() {
            return self.error(503, "Nested MAIL command").await;
        }
        let Some((address, params)) = path(args, "FROM:") else {
            return self.error(501, "Syntax: MAIL FROM:<address>").await;
        };
        if !address.is_empty() && !mailbox(address) {
            return self.error(501, "Bad sender address syntax").await;
        }
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.limits.max_message_bytes as u64 => {
                        self.reply(552, "Message size exceeds fixed maximum message size").await?;
                        return Ok(Next::Continue);
                    }
                    Ok(_) => {}
                    Err(_) => return self.error(501, "Bad SIZE parameter").await,
                },
                "BODY" if value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME") => {}
                "SMTPUTF8" if value.is_empty() => {}
                _ => return self.error(555, "MAIL FROM parameters not recognized or not implemented").await,
            }
        }
        self.mail_from = Some(address.to_owned());
        self.reply(250, "OK").await?;
        Ok(Next::Continue)
    }

    async fn rcpt(&mut self, args: &str) -> std::io::Result<Next> {
        if self.mail_from.is_none() {
            return self.error(503, "Need MAIL before RCPT").await;
        }
        let Some((address, params)) = path(args, "TO:") else {
            return self.error(501, "Syntax: RCPT TO:<address>").await;
        };
        // RFC 5321 lets <Postmaster> go without a domain.
        if !mailbox(address) && !address.eq_ignore_ascii_case("postmaster") {
            return self.error(501, "Bad recipient address syntax").await;
        }
        if !params.trim().is_empty() {
            return self.error(555, "RCPT TO parameters not recognized or not implemented").await;
        }
        if self.rcpt_to.len() >= self.limits.max_recipients {
            // Not a client error: the client sends the rest in another transaction.
            self.reply(452, "Too many recipients").await?;
            return Ok(Next::Continue);
        }
        self.rcpt_to.push(address.to_owned());
        self.reply(250, "OK").await?;
        Ok(Next::Continue)
    }

    async fn data(&mut self, args: &str) -> std::io::Result<Next> {
        if !args.is_empty() {
            return self.error(501, "Syntax: DATA").await;
        }
        if self.mail_from.is_none() {
            return self.error(503, "Need MAIL command").await;
        }
        if self.rcpt_to.is_empty() {
            return self.error(503, "Need RCPT before DATA").await;
        }
        self.reply(354, "End data with <CR><LF>.<CR><LF>").await?;
        let message = self.read_message().await?;
        // A message came (or was refused for its size): the client is moving mail.
        self.idle_commands = 0;
        let message = match message {
            Data::Message(message) => message,
            Data::TooBig => {
                self.reset();
                self.reply(552, "Message exceeds fixed maximum message size").await?;
                return Ok(Next::Continue);
            }
            Data::Ended(Read::Eof) => return Ok(Next::Close),
            Data::Ended(Read::Stopped) => return self.shutting_down().await,
            Data::Ended(_) => return self.timed_out(false).await,
        };
        let envelope = Envelope {
            peer: self.peer,
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
        };
        tracing::debug!(peer = %self.peer, from = %envelope.mail_from, bytes = message.len(), "inbound SMTP message");
        // In its own task so that a panicking handler costs a 451, not the session.
        let outcome = tokio::spawn((self.handler)(envelope, message)).await;
        match outcome {
            Ok(Ok(())) => self.reply(250, "OK: message accepted").await?,
            Ok(Err(refusal)) => {
                tracing::debug!(peer = %self.peer, code = refusal.code, "inbound SMTP message refused");
                let code = if (400..600).contains(&refusal.code) { refusal.code } else { 451 };
                self.reply(code, &refusal.text).await?;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, "inbound SMTP handler failed: {e}");
                self.reply(451, "Local error in processing, try again later").await?;
            }
        }
        Ok(Next::Continue)
    }

    /// Reads DATA up to the lone dot, unstuffed and with CRLF line ends. Past the size limit it keeps
    /// reading to the terminator but discards, so memory stays within the limit (plus a line end).
    ///
    /// Only CRLF "." CRLF ends the message: accepting a bare-LF variant would let a message that an
    /// upstream relay passed through whole be split here into two (SMTP smuggling). Other lines
    /// ending in a bare LF are kept, as if they ended in CRLF.
    async fn read_message(&mut self) -> std::io::Result<Data> {
        let max = self.limits.max_message_bytes;
        let mut message = Vec::new();
        let mut too_big = false;
        let mut after_crlf = true;
        let ends = Instant::now() + MAX_DATA_TIME;
        loop {
            let start = message.len();
            // Any line longer than the room left overflows anyway; 2 still fits ".\r".
            let limit = if too_big { 2 } else { max.saturating_sub(start).max(2) };
            let deadline = (Instant::now() + self.limits.data_timeout).min(ends);
            let line = match self.next_line(limit, &mut message, deadline).await? {
                Read::Line(line) => line,
                other => return Ok(Data::Ended(other)),
            };
            if !line.truncated && line.crlf && after_crlf && message[start..] == *b".\r" {
                message.truncate(start);
                return Ok(if too_big { Data::TooBig } else { Data::Message(message) });
            }
            after_crlf = line.crlf;
            if too_big || line.truncated {
                too_big = true;
                message = Vec::new();
                continue;
            }
            if line.crlf {
                message.pop();
            }
            if message.get(start) == Some(&b'.') {
                message.remove(start);
            }
            message.extend_from_slice(b"\r\n");
            if message.len() > max {
                too_big = true;
                message = Vec::new();
            }
        }
    }
}

/// How reading DATA went.
enum Data {
    Message(Vec<u8>),
    TooBig,
    /// Disconnected, timed out or stopped before the end.
    Ended(Read),
}

/// The address in `FROM:<address> params` (or `TO:`), and the parameters after it. A space after
/// the colon is tolerated since some clients send one; a source route (`<@a,@b:user@c>`) is dropped.
fn path<'a>(args: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = args.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = args[keyword.len()..].trim_start().strip_prefix('<')?;
    let close = rest.find('>')?;
    let (inner, params) = (&rest[..close], &rest[close + 1..]);
    if !params.is_empty() && !params.starts_with(' ') {
        return None;
    }
    let address = match inner.strip_prefix('@') {
        Some(routed) => routed.split_once(':')?.1,
        None => inner,
    };
    Some((address, params))
}

/// Just enough checking to keep junk out of the envelope: `local@domain`, no spaces or controls.
fn mailbox(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    // A quoted local part may hold spaces.
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains(' ')
        && !address.chars().any(|c| c.is_control() || c == '<' || c == '>' || (c == ' ' && !quoted))
}
