//! The HTTP server: the actix-web app behind actix-http's HTTP/1 service, as `HttpServer` would
//! run it, with one addition. A request to upgrade the connection goes through the same app
//! (its middleware, extractors and the socket handlers' checks); when a handler accepts it, its
//! 101 answer carries a [`Takeover`], and the connection leaves the HTTP server to run on its
//! own (`realtime::wire`). Left to actix-web, as actix-ws does, every open websocket kept an
//! HTTP/1 dispatcher under it for its whole life: 8 KiB read and 8 KiB write buffers and a
//! 3 KiB task, most of what an idle socket cost.

use actix_codec::Framed;
use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::{h1, ConnectionType, HttpService, Request, Response};
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory};
use actix_web::dev::AppConfig;
use bytes::BytesMut;
use futures_util::SinkExt;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;
use tokio::net::TcpStream;

/// What a handler that accepted an upgrade puts in its 101 answer: what to run on the
/// connection, given the stream and the bytes the server had already read past the request.
pub struct Takeover(Box<dyn FnOnce(TcpStream, BytesMut)>);

impl Takeover {
    pub fn new(run: impl FnOnce(TcpStream, BytesMut) + 'static) -> Takeover {
        Takeover(Box::new(run))
    }
}

/// What the server is tuned with.
pub struct Tuning {
    pub shutdown_timeout_secs: u64,
    /// Per worker; idle chat sockets are cheap, the open-file limit is the real bound.
    pub max_connections: usize,
    pub backlog: u32,
}

/// Serves `app` (a fresh instance per worker, as `HttpServer::new` takes it) on `listener`.
pub fn serve<F, I, S, B>(listener: TcpListener, app: F, tuning: Tuning) -> std::io::Result<actix_server::Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig, Error = actix_web::Error> + 'static,
    S::InitError: std::fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .shutdown_timeout(tuning.shutdown_timeout_secs)
        .max_concurrent_connections(tuning.max_connections)
        .backlog(tuning.backlog)
        .listen("rapport", listener, move || {
            let shutdown = shutdown.clone();
            let upgrades = app.clone();
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                // Chat frames are small writes that must leave at once: without this, Nagle's
                // algorithm holds each behind the delayed ACK of the one before.
                .tcp_nodelay(true)
                .local_addr(addr)
                .upgrade(fn_factory(move || {
                    let app = upgrades().into_factory();
                    async move {
                        let service = Rc::new(app.new_service(AppConfig::default()).await.map_err(|e| {
                            tracing::error!(error = ?e, "could not start the app for upgrades");
                        })?);
                        Ok::<_, ()>(fn_service(move |(req, framed)| upgrade(service.clone(), req, framed)))
                    }
                }))
                .finish(map_config(app(), |()| AppConfig::default()))
                .tcp()
        })?
        .run();
    Ok(server)
}

/// The most a request that asked for another protocol may send as its body (see `read_body`).
const MAX_OTHER_UPGRADE_BODY: usize = 32 << 20;

/// Answers an upgrade request through the app; runs what an accepted one's `Takeover` says on
/// the connection, or writes the refusal and closes it.
async fn upgrade<S, B>(
    service: Rc<S>,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Error = actix_web::Error>,
    S::Response: Into<Response<B>>,
    B: MessageBody + 'static,
{
    let req = if wants_websocket(&req) {
        Ok(req)
    } else {
        let (read, rest) = read_body(req, framed).await;
        framed = rest;
        read
    };
    let answer = match req {
        Ok(req) => service.call(req).await,
        Err(refused) => Err(refused),
    };
    let mut response: Response<BoxBody> = match answer {
        Ok(answer) => answer.into().map_into_boxed_body(),
        Err(e) => Response::from(e),
    };
    let takeover = response.extensions_mut().remove::<Takeover>();
    let (mut head, body) = response.into_parts();
    let size = body.size();
    let Some(Takeover(run)) = takeover else {
        // A refusal: the connection closes after it, written in one piece (clients read the
        // body of a refused upgrade from what arrived with its head).
        head.head_mut().set_connection_type(ConnectionType::Close);
        framed.feed(h1::Message::Item((head, size))).await?;
        if !matches!(size, BodySize::None | BodySize::Sized(0)) {
            let bytes = actix_web::body::to_bytes(body)
                .await
                .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()))?;
            framed.feed(h1::Message::Chunk(Some(bytes))).await?;
            framed.feed(h1::Message::Chunk(None)).await?;
        }
        // Framed's close shuts the stream without writing what it holds: flush first.
        SinkExt::<h1::Message<(Response<()>, BodySize)>>::flush(&mut framed).await?;
        return Ok(SinkExt::<h1::Message<(Response<()>, BodySize)>>::close(&mut framed).await?);
    };
    framed.send(h1::Message::Item((head, size))).await?;
    let parts = framed.into_parts();
    run(parts.io, parts.read_buf);
    Ok(())
}

fn wants_websocket(req: &Request) -> bool {
    let upgrade = req.head().headers.get(actix_http::header::UPGRADE).and_then(|v| v.to_str().ok());
    upgrade.is_some_and(|protocol| protocol.trim().eq_ignore_ascii_case("websocket"))
}

/// The HTTP/1 dispatcher hands over every request that asks to upgrade, with its body unread.
/// One that asks for another protocol than websockets (`Upgrade: h2c`, which curl sends with
/// `--http2`) is answered as the HTTP/1.1 request it also is, with its body read here: a
/// `Content-Length` body, whole (such requests are never chunked: chunked ones are not handed
/// over).
async fn read_body(
    req: Request,
    framed: Framed<TcpStream, h1::Codec>,
) -> (Result<Request, actix_web::Error>, Framed<TcpStream, h1::Codec>) {
    use tokio::io::AsyncReadExt;
    let length = req.head().headers.get(actix_http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    let Some(length) = length.map_or(Some(0), |v| v.trim().parse::<usize>().ok()) else {
        return (Err(actix_web::error::ErrorBadRequest("invalid Content-Length")), framed);
    };
    if length > MAX_OTHER_UPGRADE_BODY {
        let refused = actix_web::error::ErrorPayloadTooLarge("send a body this large without an Upgrade header");
        return (Err(refused), framed);
    }
    let mut parts = framed.into_parts();
    while parts.read_buf.len() < length {
        match parts.io.read_buf(&mut parts.read_buf).await {
            Ok(n) if n > 0 => {}
            _ => {
                let refused = actix_web::error::ErrorBadRequest("the body ended before its Content-Length");
                return (Err(refused), Framed::from_parts(parts));
            }
        }
    }
    let body = parts.read_buf.split_to(length).freeze();
    let (req, _) = req.replace_payload(actix_http::Payload::from(body));
    (Ok(req), Framed::from_parts(parts))
}
