//! Watch: a streaming response of `{"type": ..., "object": ...}` lines. Starts from a
//! resourceVersion (replaying the event log; 410 when it is too old) or with the current
//! state as ADDED events; sends BOOKMARKs when asked; moves objects in and out of the
//! selection as ADDED/DELETED like the API server's watch cache.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::error::{ApiError, ApiResult};
use super::handler::Req;
use super::read::{Filter, render};
use super::respond::Format;
use crate::store::{EventType, StoreEvent};

/// How often an idle watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(1);
/// Default server-side watch timeout (the API server uses 30–60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

struct Watch {
    req: Req,
    fmt: Format,
    filter: Filter,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    last_rv: u64,
}

/// Starts a watch and returns its streaming response.
pub fn serve(req: Req, fmt: Format) -> ApiResult<Response> {
    let filter = Filter::from_req(&req)?;
    let store = &req.cluster.store;
    let rv_param = req.params.resource_version.clone();
    let from_now = rv_param.is_empty() || rv_param == "0";
    let initial = req.params.send_initial_events.unwrap_or(from_now);
    let (initial_items, from_rv) = if initial {
        let page = store.list(
            &req.def.storage,
            req.path.namespace.as_deref(),
            None,
            0,
            &|o| filter.matches(o),
        );
        (page.items, page.rv)
    } else if from_now {
        (Vec::new(), store.current_rv())
    } else {
        let rv = rv_param
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid resource version {rv_param:?}")))?;
        (Vec::new(), rv)
    };
    let (tx, body_rx) = mpsc::channel(1024);
    let (backlog, rx) = match store.watch_from(Some(&req.def.storage), from_rv) {
        Ok(x) => x,
        // Like the API server: the watch is accepted and its first event says 410 Expired.
        Err(e) => {
            let status = ApiError::from(e).status();
            let mut line =
                serde_json::to_vec(&json!({"type": "ERROR", "object": status})).unwrap_or_default();
            line.push(b'\n');
            let _ = tx.try_send(Ok(Bytes::from(line)));
            drop(tx);
            return stream_response(body_rx);
        }
    };
    let timeout = req
        .params
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let end_bookmark = req.params.send_initial_events == Some(true);
    let w = Watch {
        req,
        fmt,
        filter,
        tx,
        last_rv: from_rv,
    };
    tokio::spawn(w.run(initial_items, end_bookmark, backlog, rx, timeout));
    stream_response(body_rx)
}

fn stream_response(body_rx: mpsc::Receiver<Result<Bytes, std::io::Error>>) -> ApiResult<Response> {
    let stream =
        futures::stream::unfold(
            body_rx,
            |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
        );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::Internal {
            code: 500,
            reason: "InternalError",
            message: e.to_string(),
        })
}

fn encode(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

impl Watch {
    async fn run(
        mut self,
        initial: Vec<Arc<Value>>,
        end_bookmark: bool,
        backlog: Vec<Arc<StoreEvent>>,
        mut rx: broadcast::Receiver<Arc<StoreEvent>>,
        timeout: Duration,
    ) {
        for obj in initial {
            if !self.send("ADDED", &obj).await {
                return;
            }
        }
        if end_bookmark && !self.bookmark(true).await {
            return;
        }
        for ev in backlog {
            if !self.on_event(&ev).await {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(ev) => if !self.on_event(&ev).await { return },
                    // Too slow or the store went away: end the watch; clients re-watch.
                    Err(_) => return,
                },
                _ = tick.tick() => {
                    // Read the store's version first, then check for pending events: every
                    // event up to that version was sent to `rx` under the store's lock, so
                    // an empty `rx` means the bookmark skips nothing. (The other order lost
                    // an event committed between the check and the read: the bookmark moved
                    // past it and it was then dropped as already seen.)
                    let rv = self.req.cluster.store.current_rv();
                    if self.req.params.allow_bookmarks && rx.is_empty() {
                        self.last_rv = self.last_rv.max(rv);
                        if !self.bookmark(false).await { return }
                    }
                }
                _ = &mut deadline => return,
                _ = self.tx.closed() => return,
            }
        }
    }

    /// Translates a store event into what this watch should see; false when the client left.
    async fn on_event(&mut self, ev: &StoreEvent) -> bool {
        if ev.rv <= self.last_rv {
            return true;
        }
        self.last_rv = ev.rv;
        if ev.res != self.req.def.storage {
            return true;
        }
        let now = self.filter.matches(&ev.object);
        let before = ev.prev.as_ref().is_some_and(|p| self.filter.matches(p));
        let kind = match (ev.kind, before, now) {
            (EventType::Added, _, true) => "ADDED",
            (EventType::Deleted, _, true) => "DELETED",
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            _ => return true,
        };
        if self.fmt == Format::Json {
            let api_version = self.req.def.api_version();
            let (av, bytes) = ev.encoded.get_or_init(|| {
                (
                    api_version.clone(),
                    encode(&self.req.def.to_served(&ev.object)),
                )
            });
            if *av == api_version {
                return self.raw_line(kind, bytes).await;
            }
        }
        self.send(kind, &ev.object).await
    }

    /// `{"type":KIND,"object":OBJECT}` from an already encoded object.
    async fn raw_line(&self, kind: &str, object: &[u8]) -> bool {
        let mut buf = Vec::with_capacity(object.len() + 32);
        buf.extend_from_slice(b"{\"type\":\"");
        buf.extend_from_slice(kind.as_bytes());
        buf.extend_from_slice(b"\",\"object\":");
        buf.extend_from_slice(object);
        buf.extend_from_slice(b"}\n");
        self.tx.send(Ok(Bytes::from(buf))).await.is_ok()
    }

    async fn send(&self, kind: &str, stored: &Value) -> bool {
        let served = self.req.def.to_served(stored);
        let rv = crate::store::Meta(stored).resource_version().to_string();
        let object = render(
            &self.req,
            self.fmt,
            vec![served],
            json!({"resourceVersion": rv}),
            true,
        );
        self.line(json!({"type": kind, "object": object})).await
    }

    async fn bookmark(&self, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": self.last_rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.req.def.kind, "apiVersion": self.req.def.api_version(), "metadata": meta});
        self.line(json!({"type": "BOOKMARK", "object": object}))
            .await
    }

    async fn line(&self, v: Value) -> bool {
        let mut buf = serde_json::to_vec(&v).unwrap_or_default();
        buf.push(b'\n');
        self.tx.send(Ok(Bytes::from(buf))).await.is_ok()
    }
}
