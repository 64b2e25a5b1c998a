//! Per-request frame limits on `VerifyStream`: a bad frame costs its own request, not
//! the stream.
//!
//! tonic decodes a request stream with one decoder for the whole call. A frame over the
//! message limit, or with its compressed flag set (this server accepts no compression),
//! makes that decoder fail, and the call ends: every later request on the stream goes
//! unanswered, although the protocol answers a request that fails alone with its own
//! `VerifyResponse.status` and keeps the stream open.
//!
//! [`FrameGuardLayer`] sits in front of tonic and reads the gRPC framing of a
//! `VerifyStream` request body as it arrives (1 byte compressed flag, 4 bytes
//! big-endian length, the message). Frames that tonic will accept pass on byte for byte
//! (inbound chunks are handed on as they are, split only where a frame is taken out). A
//! frame tonic would fail on is taken out: its bytes are dropped as they arrive, and one
//! zero-length frame (`00 00 00 00 00`, which decodes as a default `VerifyRequest`)
//! goes on in its place, so the service sees one message per frame, in order.
//! [`RejectedFrames`], put in the request's extensions before the service is called
//! (tonic copies them into `tonic::Request::extensions()`), says which messages are such
//! stand-ins and why, with the request id when it could be read.
//!
//! Invariants:
//! - Memory is bounded whatever a client declares: no message is ever buffered. The guard
//!   keeps at most a frame header (5 bytes), a varint reader for the id (no bytes) and
//!   the inbound chunk being split; a 4 GiB frame costs what a 5-byte one does.
//! - Message indices count every frame of the stream from 0, stand-ins included, which is
//!   what the service counts when it counts the messages it reads.
//! - A rejection is recorded before its stand-in frame is handed to tonic, so it is there
//!   when the service reads the stand-in. The stand-in goes out as soon as the frame's id
//!   is known (its first bytes) rather than when the frame ends, so the service answers a
//!   rejected request while the client is still sending it.
//! - The id is read from the frame's first bytes: prost writes field 1 (`uint64 id`)
//!   first, as tag byte 0x08 and a varint of at most 10 bytes. A frame that does not start
//!   so (id 0 is not written at all; other encoders may order fields differently), or a
//!   compressed one, gives no id; the service then answers with id 0.
//! - A stream that ends inside a frame is shown to tonic as ending inside a frame, so it
//!   reports it as it would have (INTERNAL, "Unexpected EOF decoding stream"): a partly
//!   received frame that was passing on has already gone on as is; for a rejected one,
//!   its stand-in goes on and then one byte of an unfinished frame. (tonic 0.14 itself
//!   ends a stream cut right after a whole header, with no message byte, cleanly: it
//!   checks only for bytes left over. That case is passed on as is too.)
//!
//! Only framing is checked here. A frame that is well formed but does not decode as a
//! `VerifyRequest` is the decoder's business: the service reads the stream through
//! `vigil_proto::lenient`, which answers such a message alone and keeps the stream.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame};
use tower::{Layer, Service};

/// The one method whose request body is guarded.
pub const VERIFY_STREAM_PATH: &str = "/vigil.v1.Verifier/VerifyStream";

/// Bytes of a gRPC frame header: compressed flag and big-endian length.
const HEADER: usize = 5;

/// The frame sent in place of a rejected one: uncompressed, zero length.
static STAND_IN: [u8; HEADER] = [0; HEADER];

/// Rejections kept for the service to take, at most. The service takes each one as it
/// reads its stand-in, and tonic reads the body only when it needs its next message, so
/// there is at most one outstanding in practice; the cap bounds memory if the layer is
/// installed in front of a service that never takes them.
const MAX_OUTSTANDING: usize = 64;

/// Inbound chunks one poll may drop before it yields to the runtime, so a client sending
/// a huge rejected frame fast cannot hold a runtime thread for the whole frame.
const CHUNKS_PER_POLL: usize = 64;

/// Why a frame was not passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The frame declares a message longer than the server's message limit.
    TooLarge {
        /// The declared message length.
        bytes: u32,
        /// The limit (`--max-message-bytes`).
        limit: usize,
    },
    /// The frame's compressed flag is not 0 (this server accepts no compression).
    Compressed {
        /// The flag byte as received.
        flag: u8,
    },
}

impl RejectReason {
    /// The gRPC code of the request's answer: the code tonic gives the same frame on a
    /// unary call, so a client handles both alike. OUT_OF_RANGE for a message over the
    /// limit; INTERNAL for a compressed flag, as the gRPC compression spec requires for a
    /// flagged message on a call without `grpc-encoding` (the only way a compressed flag
    /// reaches this point: tonic refuses a call with an unsupported `grpc-encoding`
    /// before reading any message).
    pub fn code(&self) -> tonic::Code {
        match self {
            RejectReason::TooLarge { .. } => tonic::Code::OutOfRange,
            RejectReason::Compressed { .. } => tonic::Code::Internal,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::TooLarge { bytes, limit } => write!(
                f,
                "request of {bytes} bytes is over the limit of {limit} (--max-message-bytes)"
            ),
            RejectReason::Compressed { flag } => write!(
                f,
                "request frame has compressed-flag {flag}; this server accepts only \
                 uncompressed requests (compressed-flag 0)"
            ),
        }
    }
}

/// One rejected frame: the request's id when it could be read, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// The request's `id` (field 1), when the frame starts with it.
    pub id: Option<u64>,
    /// Why the frame was rejected.
    pub reason: RejectReason,
}

/// The rejections of one stream, shared between its guarded body and the service.
#[derive(Debug, Clone, Default)]
pub struct RejectedFrames(Arc<Mutex<VecDeque<(u64, Rejected)>>>);

impl RejectedFrames {
    /// The rejection of message `message_index` (counting every message of the stream
    /// from 0), if that message is a stand-in; removed as it is taken.
    pub fn take(&self, message_index: u64) -> Option<Rejected> {
        let mut entries = self.lock();
        let at = entries.iter().position(|(i, _)| *i == message_index)?;
        entries.remove(at).map(|(_, rejected)| rejected)
    }

    fn record(&self, message_index: u64, rejected: Rejected) {
        let mut entries = self.lock();
        if entries.len() == MAX_OUTSTANDING {
            entries.pop_front();
        }
        entries.push_back((message_index, rejected));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Rejected)>> {
        // A plain list: a panic elsewhere cannot leave it half-updated.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads field 1 (`uint64 id`) from the first bytes of a message as they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdReader {
    /// Expecting the tag byte 0x08 (field 1, varint).
    Tag,
    /// Inside the varint.
    Varint { value: u64, shift: u32 },
    /// Finished: the id, or `None` when the message does not start with one.
    Done(Option<u64>),
}

impl IdReader {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            *self = match *self {
                IdReader::Done(_) => return,
                IdReader::Tag if b == 0x08 => IdReader::Varint { value: 0, shift: 0 },
                IdReader::Tag => IdReader::Done(None),
                IdReader::Varint { value, shift } => {
                    let low = u64::from(b & 0x7f);
                    if shift == 63 && (low > 1 || b & 0x80 != 0) {
                        IdReader::Done(None) // more than 64 bits: not a uint64
                    } else if b & 0x80 == 0 {
                        IdReader::Done(Some(value | low << shift))
                    } else {
                        IdReader::Varint {
                            value: value | low << shift,
                            shift: shift + 7,
                        }
                    }
                }
            };
        }
    }

    fn id(&self) -> Option<u64> {
        match self {
            IdReader::Done(id) => *id,
            _ => None,
        }
    }
}

/// A frame being dropped.
#[derive(Debug)]
struct Dropping {
    index: u64,
    reason: RejectReason,
    flag: u8,
    /// Message bytes still to come.
    left: usize,
    id: IdReader,
    /// Recorded and its stand-in handed on.
    answered: bool,
}

#[derive(Debug)]
enum State {
    /// Reading a frame header; `have` bytes of it are in `bytes`.
    Header { bytes: [u8; HEADER], have: usize },
    /// Passing a message on: `left` bytes to go.
    Pass { left: usize },
    /// Dropping a rejected frame.
    Drop(Dropping),
}

impl State {
    fn header() -> State {
        State::Header {
            bytes: [0; HEADER],
            have: 0,
        }
    }
}

/// A request body with over-limit and compressed frames replaced by empty ones (see the
/// module docs).
#[derive(Debug)]
pub struct FrameGuardBody<B> {
    inner: B,
    max_message_bytes: usize,
    rejected: RejectedFrames,
    state: State,
    /// The inbound chunk being split; its first `scanned` bytes pass on.
    input: Bytes,
    scanned: usize,
    /// The index the next frame header starts.
    next_index: u64,
    /// Frames to hand on at the end of the stream (at most three).
    tail: VecDeque<Frame<Bytes>>,
    ended: bool,
}

impl<B> FrameGuardBody<B> {
    /// Guards `inner`, recording rejections in `rejected`.
    pub fn new(inner: B, max_message_bytes: usize, rejected: RejectedFrames) -> Self {
        FrameGuardBody {
            inner,
            max_message_bytes,
            rejected,
            state: State::header(),
            input: Bytes::new(),
            scanned: 0,
            next_index: 0,
            tail: VecDeque::new(),
            ended: false,
        }
    }

    /// The next piece of output from the current inbound chunk, or `None` once the chunk
    /// is used up.
    fn next_data(&mut self) -> Option<Bytes> {
        loop {
            match &mut self.state {
                State::Drop(d) => {
                    if !d.answered && (d.left == 0 || matches!(d.id, IdReader::Done(_))) {
                        d.answered = true;
                        let rejected = Rejected {
                            id: d.id.id(),
                            reason: d.reason,
                        };
                        // Recorded before the stand-in goes: the service may read it at once.
                        self.rejected.record(d.index, rejected);
                        if d.left == 0 {
                            self.state = State::header();
                        }
                        return Some(Bytes::from_static(&STAND_IN));
                    }
                    if d.left == 0 {
                        self.state = State::header();
                        continue;
                    }
                    if self.input.is_empty() {
                        return None;
                    }
                    let take = d.left.min(self.input.len());
                    if !d.answered {
                        d.id.feed(&self.input[..take]);
                    }
                    self.input.advance(take);
                    d.left -= take;
                }
                State::Pass { left } => {
                    let rest = self.input.len() - self.scanned;
                    if rest == 0 {
                        break;
                    }
                    let take = (*left).min(rest);
                    self.scanned += take;
                    *left -= take;
                    if *left == 0 {
                        self.state = State::header();
                    }
                }
                State::Header { bytes, have } => {
                    let rest = self.input.len() - self.scanned;
                    if rest == 0 {
                        break;
                    }
                    let at = self.scanned;
                    let take = (HEADER - *have).min(rest);
                    bytes[*have..*have + take].copy_from_slice(&self.input[at..at + take]);
                    // Bytes of this header that came in an earlier chunk (then `at` is 0).
                    let held = *have;
                    *have += take;
                    let header = *bytes;
                    if *have < HEADER {
                        // The header goes on in the next chunk: its bytes so far are held
                        // in `bytes`; what came before them passes on.
                        self.input.truncate(at);
                        return self.take_scanned();
                    }
                    let flag = header[0];
                    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
                    let index = self.next_index;
                    self.next_index += 1;
                    let left = usize::try_from(len).unwrap_or(usize::MAX);
                    let reason = if flag != 0 {
                        Some(RejectReason::Compressed { flag })
                    } else if left > self.max_message_bytes {
                        Some(RejectReason::TooLarge {
                            bytes: len,
                            limit: self.max_message_bytes,
                        })
                    } else {
                        None
                    };
                    match reason {
                        None => {
                            self.state = if left == 0 {
                                State::header()
                            } else {
                                State::Pass { left }
                            };
                            self.scanned += take;
                            if held > 0 {
                                return Some(Bytes::copy_from_slice(&header[..held]));
                            }
                        }
                        Some(reason) => {
                            let before = self.input.split_to(at);
                            self.input.advance(take);
                            self.scanned = 0;
                            self.state = State::Drop(Dropping {
                                index,
                                reason,
                                flag,
                                left,
                                // A compressed message's bytes say nothing readable.
                                id: if flag == 0 {
                                    IdReader::Tag
                                } else {
                                    IdReader::Done(None)
                                },
                                answered: false,
                            });
                            if !before.is_empty() {
                                return Some(before);
                            }
                        }
                    }
                }
            }
        }
        self.take_scanned()
    }

    /// Hands on the scanned front of the input (all of it: called once it is scanned).
    fn take_scanned(&mut self) -> Option<Bytes> {
        self.scanned = 0;
        let run = std::mem::take(&mut self.input);
        (!run.is_empty()).then_some(run)
    }

    /// The inbound data has ended: a frame left unfinished is shown to tonic as such.
    fn end_of_data(&mut self) {
        self.ended = true;
        match std::mem::replace(&mut self.state, State::header()) {
            State::Header { bytes, have } if have > 0 => {
                self.tail
                    .push_back(Frame::data(Bytes::copy_from_slice(&bytes[..have])));
            }
            State::Drop(d) if d.left > 0 => {
                if !d.answered {
                    self.rejected.record(
                        d.index,
                        Rejected {
                            id: d.id.id(),
                            reason: d.reason,
                        },
                    );
                    self.tail
                        .push_back(Frame::data(Bytes::from_static(&STAND_IN)));
                }
                self.tail
                    .push_back(Frame::data(Bytes::copy_from_slice(&[d.flag])));
            }
            _ => {}
        }
    }

    #[cfg(test)]
    fn retained(&self) -> usize {
        self.input.len()
            + self
                .tail
                .iter()
                .filter_map(|f| f.data_ref().map(Bytes::len))
                .sum::<usize>()
    }
}

impl<B> Body for FrameGuardBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let mut chunks = 0;
        loop {
            if let Some(data) = this.next_data() {
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            if let Some(frame) = this.tail.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if chunks == CHUNKS_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.input = data;
                        chunks += 1;
                    }
                    Err(trailers) => {
                        this.end_of_data();
                        this.tail.push_back(trailers);
                    }
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => this.end_of_data(),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let settled = match self.state {
            State::Header { have, .. } => have == 0,
            State::Pass { .. } => true,
            State::Drop(_) => false,
        };
        self.input.is_empty()
            && self.tail.is_empty()
            && (self.ended || (settled && self.inner.is_end_stream()))
    }
}

/// Guards `VerifyStream` request bodies (see the module docs). Add it with
/// `Server::builder().layer(FrameGuardLayer::new(max_message_bytes))`.
#[derive(Debug, Clone, Copy)]
pub struct FrameGuardLayer {
    max_message_bytes: usize,
}

impl FrameGuardLayer {
    /// Frames over `max_message_bytes` (the limit tonic's decoder is given) are rejected.
    pub fn new(max_message_bytes: usize) -> FrameGuardLayer {
        FrameGuardLayer { max_message_bytes }
    }
}

impl<S> Layer<S> for FrameGuardLayer {
    type Service = FrameGuard<S>;

    fn layer(&self, inner: S) -> FrameGuard<S> {
        FrameGuard {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// The service [`FrameGuardLayer`] makes.
#[derive(Debug, Clone)]
pub struct FrameGuard<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S> Service<http::Request<tonic::body::Body>> for FrameGuard<S>
where
    S: Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> S::Future {
        if request.uri().path() != VERIFY_STREAM_PATH {
            return self.inner.call(request);
        }
        let rejected = RejectedFrames::default();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(rejected.clone());
        let body = FrameGuardBody::new(body, self.max_message_bytes, rejected);
        self.inner.call(http::Request::from_parts(
            parts,
            tonic::body::Body::new(body),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::convert::Infallible;
    use std::future::poll_fn;

    use futures::executor::block_on;
    use http_body_util::StreamBody;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;
    use tonic::codec::{DecodeBuf, Decoder};
    use tonic::{Code, Status, Streaming};
    use vigil_proto::v1::verifier_client::VerifierClient;
    use vigil_proto::v1::verifier_server::{Verifier, VerifierServer, SERVICE_NAME};
    use vigil_proto::v1::{
        DevicesRequest, DevicesResponse, MerkleRequest, MerkleResponse, RequestStatus,
        VerifyRequest, VerifyResponse,
    };

    // ---- frames, written here by hand (an independent encoder, not the guard's parser) --

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v.to_le_bytes()[0] | 0x80);
            v >>= 7;
        }
        out.push(v.to_le_bytes()[0]);
    }

    /// A `VerifyRequest` as prost writes it: id (field 1) first, when non-zero, then
    /// `pad` bytes as one `solana_transactions` entry (field 4), when non-zero.
    fn message(id: u64, pad: usize) -> Vec<u8> {
        let mut m = Vec::new();
        if id != 0 {
            m.push(0x08);
            varint(id, &mut m);
        }
        if pad > 0 {
            m.push(0x22);
            varint(pad as u64, &mut m);
            m.extend(std::iter::repeat_n(0xab, pad));
        }
        m
    }

    fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![flag];
        f.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// What the guard must produce: every frame as is, except a rejected one, which is
    /// replaced by an empty frame.
    fn expected(frames: &[Vec<u8>], max: usize) -> Vec<u8> {
        frames
            .iter()
            .flat_map(|f| {
                let len = u32::from_be_bytes([f[1], f[2], f[3], f[4]]) as usize;
                if f[0] != 0 || len > max {
                    vec![0; 5]
                } else {
                    f.clone()
                }
            })
            .collect()
    }

    type Chunks =
        StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

    fn body_of(chunks: Vec<Bytes>) -> Chunks {
        let frames: Vec<_> = chunks.into_iter().map(|c| Ok(Frame::data(c))).collect();
        StreamBody::new(futures::stream::iter(frames))
    }

    /// Runs `input`, cut at `cuts`, through a guard; returns each output piece.
    fn run(input: &[u8], cuts: &[usize], max: usize) -> (Vec<Bytes>, RejectedFrames) {
        let mut chunks = Vec::new();
        let mut from = 0;
        for &c in cuts.iter().chain(std::iter::once(&input.len())) {
            chunks.push(Bytes::copy_from_slice(&input[from..c]));
            from = c;
        }
        let rejected = RejectedFrames::default();
        let mut body = FrameGuardBody::new(body_of(chunks), max, rejected.clone());
        let mut out = Vec::new();
        block_on(async {
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                out.push(frame.unwrap().into_data().unwrap());
            }
        });
        assert!(body.is_end_stream());
        (out, rejected)
    }

    /// Every way to cut `input` once, into single bytes, and at every pair of points.
    fn cuttings(len: usize) -> Vec<Vec<usize>> {
        let mut all: Vec<Vec<usize>> = (0..=len).map(|c| vec![c]).collect();
        all.push((1..len).collect());
        for a in 1..len {
            for b in a + 1..len {
                all.push(vec![a, b]);
            }
        }
        all
    }

    fn concat(pieces: &[Bytes]) -> Vec<u8> {
        pieces.iter().flat_map(|b| b.iter().copied()).collect()
    }

    #[test]
    fn accepted_frames_pass_through_byte_identical() {
        let frames = [
            frame(0, &message(1, 0)),
            frame(0, &[]),
            frame(0, &message(300, 7)),
            frame(0, &message(u64::MAX, 40)),
        ];
        let input = frames.concat();
        for cuts in cuttings(input.len()) {
            let (out, rejected) = run(&input, &cuts, 64);
            assert_eq!(concat(&out), input, "cuts {cuts:?}");
            assert!((0..4).all(|i| rejected.take(i).is_none()));
        }
        // Whole chunks go on as the same bytes, uncopied.
        let chunk = Bytes::from(input.clone());
        let rejected = RejectedFrames::default();
        let mut body = FrameGuardBody::new(body_of(vec![chunk.clone()]), 64, rejected);
        let first = block_on(poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)));
        let first = first.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first.as_ptr(), chunk.as_ptr());
        assert_eq!(first.len(), chunk.len());
    }

    #[test]
    fn an_oversize_frame_is_replaced_and_recorded_with_its_id() {
        let max = 64;
        let frames = vec![
            frame(0, &message(1, 10)),
            frame(0, &message(300, 100)), // 3 + 102 bytes, over 64
            frame(0, &message(3, 10)),
            frame(0, &message(0, 80)), // no id written
            frame(0, &message(5, 0)),
        ];
        let input = frames.concat();
        let want = expected(&frames, max);
        for cuts in cuttings(input.len()) {
            let (out, rejected) = run(&input, &cuts, max);
            assert_eq!(concat(&out), want, "cuts {cuts:?}");
            // A stand-in is a piece of its own, never merged with its neighbours.
            assert_eq!(out.iter().filter(|b| b[..] == [0; 5]).count(), 2);
            assert_eq!(
                rejected.take(1),
                Some(Rejected {
                    id: Some(300),
                    reason: RejectReason::TooLarge {
                        bytes: 105,
                        limit: 64
                    }
                })
            );
            assert_eq!(rejected.take(1), None, "taken once");
            assert_eq!(
                rejected.take(3).map(|r| r.id),
                Some(None),
                "no id field: no id"
            );
            assert!([0, 2, 4].iter().all(|&i| rejected.take(i).is_none()));
        }
    }

    #[test]
    fn a_frame_at_the_limit_passes_and_one_byte_over_does_not() {
        let at = frame(0, &message(1, 60)); // 2 + 2 + 60 = 64
        let over = frame(0, &message(2, 61));
        let input = [at.clone(), over].concat();
        let (out, rejected) = run(&input, &[], 64);
        assert_eq!(concat(&out), [at, vec![0; 5]].concat());
        assert_eq!(rejected.take(0), None);
        assert_eq!(
            rejected.take(1).map(|r| r.reason),
            Some(RejectReason::TooLarge {
                bytes: 65,
                limit: 64
            })
        );
    }

    #[test]
    fn compressed_frames_are_replaced_and_recorded_without_an_id() {
        let frames = vec![
            frame(1, &message(7, 3)),
            frame(0, &message(8, 3)),
            frame(1, &[]),
            frame(2, &message(9, 0)),
            frame(0, &message(10, 0)),
        ];
        let input = frames.concat();
        let want = expected(&frames, 1024);
        for cuts in cuttings(input.len()) {
            let (out, rejected) = run(&input, &cuts, 1024);
            assert_eq!(concat(&out), want, "cuts {cuts:?}");
            for (index, flag) in [(0, 1), (2, 1), (3, 2)] {
                assert_eq!(
                    rejected.take(index),
                    Some(Rejected {
                        id: None,
                        reason: RejectReason::Compressed { flag }
                    }),
                    "cuts {cuts:?}"
                );
            }
            assert!(rejected.take(1).is_none() && rejected.take(4).is_none());
        }
    }

    #[test]
    fn the_id_is_read_only_when_whole_and_well_formed() {
        let read = |bytes: &[u8]| {
            let mut r = IdReader::Tag;
            r.feed(bytes);
            r
        };
        assert_eq!(read(&[0x08, 0x00]), IdReader::Done(Some(0)));
        assert_eq!(read(&[0x08, 0x96, 0x01, 0xff]), IdReader::Done(Some(150)));
        let mut max = vec![0x08];
        varint(u64::MAX, &mut max);
        assert_eq!(max.len(), 11);
        assert_eq!(read(&max), IdReader::Done(Some(u64::MAX)));
        // An eleventh varint byte, or a tenth with more than one bit: not a uint64.
        let mut long = vec![0x08];
        long.extend([0x80; 10]);
        long.push(0x01);
        assert_eq!(read(&long), IdReader::Done(None));
        let mut wide = vec![0x08];
        wide.extend([0xff; 9]);
        wide.push(0x02);
        assert_eq!(read(&wide), IdReader::Done(None));
        // Not field 1 as a varint (profile first; id as a length-delimited field).
        assert_eq!(read(&[0x10, 0x01]), IdReader::Done(None));
        assert_eq!(read(&[0x0a, 0x01]), IdReader::Done(None));
        assert!(matches!(read(&[0x08, 0x96]), IdReader::Varint { .. }));

        // A rejected frame that ends inside its id varint gives no id.
        let input = frame(0, &[0x08, 0x96]);
        for cuts in cuttings(input.len()) {
            let (out, rejected) = run(&input, &cuts, 1);
            assert_eq!(concat(&out), [0; 5]);
            assert_eq!(rejected.take(0).unwrap().id, None);
        }
    }

    /// Reads frames as tonic does, message bytes unparsed.
    struct Raw;

    impl Decoder for Raw {
        type Item = Bytes;
        type Error = Status;

        fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
            Ok(Some(buf.copy_to_bytes(buf.remaining())))
        }
    }

    /// What tonic's request decoder makes of `chunks`, behind a guard or not.
    fn through_tonic(
        chunks: Vec<Bytes>,
        max: usize,
        guarded: bool,
    ) -> (Vec<Result<Bytes, Status>>, RejectedFrames) {
        let rejected = RejectedFrames::default();
        let mut stream = if guarded {
            let body = FrameGuardBody::new(body_of(chunks), max, rejected.clone());
            Streaming::new_request(Raw, body, None, Some(max))
        } else {
            Streaming::new_request(Raw, body_of(chunks), None, Some(max))
        };
        let mut got = Vec::new();
        block_on(async {
            loop {
                match stream.message().await {
                    Ok(Some(m)) => got.push(Ok(m)),
                    Ok(None) => break,
                    Err(e) => {
                        got.push(Err(e));
                        break;
                    }
                }
            }
        });
        (got, rejected)
    }

    /// Outcomes comparable across runs (a `Status` is not `PartialEq`).
    fn outcomes(got: &[Result<Bytes, Status>]) -> Vec<Result<Bytes, (Code, String)>> {
        got.iter()
            .map(|r| match r {
                Ok(m) => Ok(m.clone()),
                Err(e) => Err((e.code(), e.message().to_string())),
            })
            .collect()
    }

    #[test]
    fn memory_stays_bounded_under_a_huge_declared_frame() {
        const CHUNK: usize = 64 << 10;
        let mut header = vec![0u8];
        header.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let zeros = Bytes::from(vec![0u8; CHUNK]);
        let mut chunks = vec![Bytes::from(header)];
        chunks.extend(std::iter::repeat_n(zeros, 64)); // 4 MiB of a 1 GiB frame, then EOF
        let rejected = RejectedFrames::default();
        let mut body = FrameGuardBody::new(body_of(chunks.clone()), 16 << 20, rejected.clone());
        let mut out = Vec::new();
        let mut most = 0;
        block_on(async {
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                most = most.max(body.retained());
                out.push(frame.unwrap().into_data().unwrap());
            }
        });
        assert!(most <= CHUNK, "held {most} bytes");
        // The stand-in (no id: the message starts with 0x00), then one byte of an
        // unfinished frame.
        assert_eq!(out, [Bytes::from_static(&[0; 5]), Bytes::from_static(&[0])]);
        assert_eq!(
            rejected.take(0),
            Some(Rejected {
                id: None,
                reason: RejectReason::TooLarge {
                    bytes: 1 << 30,
                    limit: 16 << 20
                }
            })
        );
        // tonic decodes the stand-in, then reports the stream cut inside a frame.
        let (got, _) = through_tonic(chunks, 16 << 20, true);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().len(), 0);
        let status = got[1].as_ref().unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(status.message().contains("Unexpected EOF"), "{status}");
    }

    #[test]
    fn a_truncated_accepted_frame_passes_as_is_for_tonic_to_report() {
        let whole = frame(0, &message(1, 5));
        let cut = frame(0, &message(2, 20));
        for keep in [1, 3, 5, 9] {
            let input = [whole.clone(), cut[..keep].to_vec()].concat();
            for cuts in cuttings(input.len()) {
                let (out, rejected) = run(&input, &cuts, 64);
                assert_eq!(concat(&out), input);
                assert!(rejected.take(1).is_none());
            }
            // tonic answers exactly as it does unguarded: its message, then INTERNAL
            // "Unexpected EOF" (or, when the stream stops right after a header, a clean
            // end: tonic's own behaviour, see the module docs).
            let chunks = vec![Bytes::from(input)];
            let (guarded, _) = through_tonic(chunks.clone(), 64, true);
            let (unguarded, _) = through_tonic(chunks, 64, false);
            assert_eq!(outcomes(&guarded), outcomes(&unguarded), "keep {keep}");
            assert_eq!(guarded[0].as_ref().unwrap()[..], whole[5..]);
            if keep == 5 {
                assert_eq!(guarded.len(), 1);
            } else {
                let status = guarded[1].as_ref().unwrap_err();
                assert_eq!(status.code(), Code::Internal);
                assert!(status.message().contains("Unexpected EOF"), "{status}");
            }
        }
    }

    #[test]
    fn tonic_sees_one_message_per_frame_and_the_record_comes_first() {
        let frames = [
            frame(0, &message(1, 3)),
            frame(0, &message(2, 200)),
            frame(1, &message(3, 3)),
            frame(0, &message(4, 3)),
        ];
        let input = frames.concat();
        // Chunks of 7 bytes; decode step by step, checking the record is there as soon
        // as tonic yields the stand-in.
        let chunks: Vec<Bytes> = input.chunks(7).map(Bytes::copy_from_slice).collect();
        let rejected = RejectedFrames::default();
        let body = FrameGuardBody::new(body_of(chunks), 64, rejected.clone());
        let mut stream = Streaming::new_request(Raw, body, None, Some(64));
        block_on(async {
            for (index, f) in frames.iter().enumerate() {
                let m = stream.message().await.unwrap().unwrap();
                let index = index as u64;
                match rejected.take(index) {
                    Some(r) => {
                        assert!(m.is_empty());
                        assert_eq!(r.id, if index == 1 { Some(2) } else { None });
                    }
                    None => assert_eq!(m[..], f[5..]),
                }
            }
            assert!(stream.message().await.unwrap().is_none());
        });
    }

    #[test]
    fn trailers_and_errors_pass_through() {
        let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
        let rejected = RejectedFrames::default();
        let mut body = FrameGuardBody::new(
            StreamBody::new(ReceiverStream::new(rx)),
            64,
            rejected.clone(),
        );
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-t", http::HeaderValue::from_static("1"));
        let over = frame(0, &message(9, 100));
        block_on(async {
            tx.send(Ok(Frame::data(Bytes::copy_from_slice(&over[..20]))))
                .await
                .unwrap();
            tx.send(Ok(Frame::trailers(trailers.clone())))
                .await
                .unwrap();
            drop(tx);
            let mut got = Vec::new();
            while let Some(f) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                got.push(f.unwrap());
            }
            assert_eq!(got.len(), 3);
            assert_eq!(got[0].data_ref().unwrap()[..], [0; 5]);
            assert_eq!(got[1].data_ref().unwrap()[..], [0]);
            assert_eq!(got[2].trailers_ref(), Some(&trailers));
        });
        assert_eq!(rejected.take(0).unwrap().id, Some(9));

        let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
        let mut body = FrameGuardBody::new(
            StreamBody::new(ReceiverStream::new(rx)),
            64,
            RejectedFrames::default(),
        );
        block_on(async {
            tx.send(Err(Status::cancelled("gone"))).await.unwrap();
            let e = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
            assert_eq!(e.unwrap().unwrap_err().code(), Code::Cancelled);
        });
    }

    #[test]
    fn outstanding_rejections_are_capped() {
        let rejected = RejectedFrames::default();
        let r = Rejected {
            id: None,
            reason: RejectReason::Compressed { flag: 1 },
        };
        for i in 0..(MAX_OUTSTANDING as u64 + 10) {
            rejected.record(i, r);
        }
        assert!(rejected.take(9).is_none());
        assert!(rejected.take(10).is_some());
        assert!(rejected.take(MAX_OUTSTANDING as u64 + 9).is_some());
    }

    #[test]
    fn reasons_say_what_was_wrong_and_name_the_limit() {
        let too_large = RejectReason::TooLarge {
            bytes: 20_000_000,
            limit: 16_777_216,
        };
        assert_eq!(
            too_large.to_string(),
            "request of 20000000 bytes is over the limit of 16777216 (--max-message-bytes)"
        );
        assert_eq!(too_large.code(), Code::OutOfRange);
        let compressed = RejectReason::Compressed { flag: 1 };
        assert!(compressed.to_string().contains("compressed-flag 1"));
        assert_eq!(compressed.code(), Code::Internal);
    }

    #[test]
    fn the_guarded_path_is_the_generated_one() {
        assert_eq!(VERIFY_STREAM_PATH, format!("/{SERVICE_NAME}/VerifyStream"));
    }

    // ---- through tonic's server, with a stand-in service wired as the real one must be --

    type ResponseStream =
        Pin<Box<dyn futures::Stream<Item = Result<VerifyResponse, Status>> + Send>>;

    /// Answers each stream message with its id, or with the rejection recorded for it;
    /// like the real service, it ends the stream on the first inbound error.
    struct Echo;

    #[tonic::async_trait]
    impl Verifier for Echo {
        async fn verify(
            &self,
            _: tonic::Request<VerifyRequest>,
        ) -> Result<tonic::Response<VerifyResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        type VerifyStreamStream = ResponseStream;

        async fn verify_stream(
            &self,
            request: tonic::Request<Streaming<VerifyRequest>>,
        ) -> Result<tonic::Response<ResponseStream>, Status> {
            let rejected = request.extensions().get::<RejectedFrames>().cloned();
            let mut inbound = request.into_inner();
            let (tx, rx) = mpsc::channel(16);
            tokio::spawn(async move {
                let mut index = 0u64;
                loop {
                    let request = match inbound.message().await {
                        Ok(Some(request)) => request,
                        Ok(None) => break,
                        Err(status) => {
                            let _ = tx.send(Err(status)).await;
                            break;
                        }
                    };
                    let response = match rejected.as_ref().and_then(|r| r.take(index)) {
                        Some(r) => VerifyResponse {
                            id: r.id.unwrap_or(0),
                            status: Some(RequestStatus {
                                code: r.reason.code() as i32,
                                message: r.reason.to_string(),
                            }),
                            ..VerifyResponse::default()
                        },
                        None => VerifyResponse {
                            id: request.id,
                            backend: "echo".into(),
                            ..VerifyResponse::default()
                        },
                    };
                    index += 1;
                    if tx.send(Ok(response)).await.is_err() {
                        break;
                    }
                }
            });
            Ok(tonic::Response::new(Box::pin(ReceiverStream::new(rx))))
        }

        async fn merkle_root(
            &self,
            _: tonic::Request<MerkleRequest>,
        ) -> Result<tonic::Response<MerkleResponse>, Status> {
            Err(Status::unimplemented("test"))
        }

        async fn devices(
            &self,
            _: tonic::Request<DevicesRequest>,
        ) -> Result<tonic::Response<DevicesResponse>, Status> {
            Err(Status::unimplemented("test"))
        }
    }

    fn request(id: u64, pad: usize) -> VerifyRequest {
        VerifyRequest {
            id,
            solana_transactions: if pad > 0 {
                vec![Bytes::from(vec![0xab; pad])]
            } else {
                Vec::new()
            },
            ..VerifyRequest::default()
        }
    }

    /// Every answer of a stream, then its end (`Ok`) or error status.
    async fn answers(
        mut stream: Streaming<VerifyResponse>,
    ) -> (Vec<(u64, Option<i32>)>, Result<(), Status>) {
        let mut got = Vec::new();
        loop {
            match stream.message().await {
                Ok(Some(r)) => got.push((r.id, r.status.map(|s| s.code))),
                Ok(None) => return (got, Ok(())),
                Err(e) => return (got, Err(e)),
            }
        }
    }

    #[tokio::test]
    async fn over_tcp_an_oversize_request_fails_alone() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let (_health, health_service) = tonic_health::server::health_reporter();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // As serve/mod.rs builds it, with the guard in front.
        let server = tonic::transport::Server::builder()
            .layer(FrameGuardLayer::new(1024))
            .add_service(health_service)
            .add_service(VerifierServer::new(Echo).max_decoding_message_size(1024))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stop_rx.await;
            });
        let server = tokio::spawn(server);

        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = VerifierClient::new(channel);
        let requests = vec![
            request(1, 10),
            request(2, 5000),
            request(3, 10),
            request(4, 2000),
        ];
        let response = client
            .verify_stream(tokio_stream::iter(requests))
            .await
            .unwrap();
        let (got, end) = answers(response.into_inner()).await;
        let out_of_range = Some(Code::OutOfRange as i32);
        assert_eq!(
            got,
            vec![(1, None), (2, out_of_range), (3, None), (4, out_of_range)]
        );
        assert!(end.is_ok(), "{end:?}");
        let _ = stop_tx.send(());
        server.await.unwrap().unwrap();
    }

    /// A client whose stream body is replaced by `raw` on the way to the server.
    #[derive(Clone)]
    struct RawBody<S> {
        server: S,
        raw: Bytes,
    }

    impl<S> Service<http::Request<tonic::body::Body>> for RawBody<S>
    where
        S: Service<http::Request<tonic::body::Body>>,
    {
        type Response = S::Response;
        type Error = S::Error;
        type Future = S::Future;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
            self.server.poll_ready(cx)
        }

        fn call(&mut self, request: http::Request<tonic::body::Body>) -> S::Future {
            let raw = self.raw.clone();
            // One byte a chunk: the worst split there is.
            let chunks: Vec<Bytes> = (0..raw.len()).map(|i| raw.slice(i..=i)).collect();
            self.server
                .call(request.map(|_| tonic::body::Body::new(body_of(chunks))))
        }
    }

    async fn through_server(raw: Vec<u8>) -> (Vec<(u64, Option<i32>)>, Result<(), Status>) {
        let server =
            FrameGuardLayer::new(64).layer(VerifierServer::new(Echo).max_decoding_message_size(64));
        let service = RawBody {
            server,
            raw: Bytes::from(raw),
        };
        let mut client = VerifierClient::with_origin(service, http::Uri::from_static("http://t"));
        let response = client
            .verify_stream(tokio_stream::iter(Vec::<VerifyRequest>::new()))
            .await
            .unwrap();
        answers(response.into_inner()).await
    }

    #[tokio::test]
    async fn through_the_generated_server_frames_fail_alone() {
        let frames = [
            frame(0, &message(1, 3)),
            frame(0, &message(2, 100)),
            frame(1, &message(3, 3)),
            frame(0, &message(4, 3)),
        ];
        let (got, end) = through_server(frames.concat()).await;
        let (oor, internal) = (Some(Code::OutOfRange as i32), Some(Code::Internal as i32));
        assert_eq!(got, vec![(1, None), (2, oor), (0, internal), (4, None)]);
        assert!(end.is_ok(), "{end:?}");
    }
}
