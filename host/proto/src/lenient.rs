//! Stream messages that do not decode fail alone, not the stream.
//!
//! tonic decodes a request stream with one decoder for the whole call. When a message
//! is well framed but its protobuf does not decode, prost's decoder fails part way
//! through it and tonic keeps its place there: every later read fails on misaligned
//! bytes, so one bad request ends the stream and the requests after it go unanswered,
//! although the protocol answers a request that fails alone with its own status.
//!
//! The generated code uses [`LenientCodec`], which is prost's codec with one
//! difference, active only while [`message`] polls a stream: a message that does not
//! decode is skipped to its end (its length is known from its frame) and read as the
//! default value, and [`message`] reports it as [`Read::Undecodable`] with prost's
//! reason. Everywhere else (unary calls, clients) decoding is prost's, unchanged.
//!
//! The switch is a thread-local flag set for the duration of one poll of the stream:
//! tonic decodes a message inside `Streaming::poll_next`, on the polling thread, so the
//! flag and the reason travel with exactly that poll.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::Poll;

use bytes::Buf;
use futures::Stream;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, Streaming};
use tonic::Status;
use tonic_prost::{ProstDecoder, ProstEncoder};

thread_local! {
    static LENIENT: Cell<bool> = const { Cell::new(false) };
    static UNDECODABLE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// prost's codec, lenient inside [`message`] (see the module docs).
#[derive(Debug)]
pub struct LenientCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for LenientCodec<T, U> {
    fn default() -> Self {
        LenientCodec(PhantomData)
    }
}

impl<T, U> Codec for LenientCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = LenientDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        LenientDecoder(ProstDecoder::default())
    }
}

/// See [`LenientCodec`].
#[derive(Debug)]
pub struct LenientDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for LenientDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        if !LENIENT.with(Cell::get) {
            return self.0.decode(buf);
        }
        match self.0.decode(buf) {
            Ok(item) => Ok(item),
            Err(status) => {
                // `buf` holds exactly this message: skipping what prost left of it puts
                // the stream at the next frame.
                let rest = buf.remaining();
                buf.advance(rest);
                UNDECODABLE.with(|u| *u.borrow_mut() = Some(status.message().to_string()));
                Ok(Some(U::default()))
            }
        }
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// One read of a stream through [`message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read<T> {
    /// A message.
    Decoded(T),
    /// A message that was framed correctly but does not decode; prost's reason.
    Undecodable(String),
}

/// The next message of `stream`, with a message that does not decode reported as
/// [`Read::Undecodable`] and the stream still readable after it. Errors are tonic's
/// (broken framing, a transport failure) and end the stream as before.
pub async fn message<T>(stream: &mut Streaming<T>) -> Result<Option<Read<T>>, Status> {
    std::future::poll_fn(|cx| {
        UNDECODABLE.with(|u| u.borrow_mut().take());
        LENIENT.with(|l| l.set(true));
        let polled = Pin::new(&mut *stream).poll_next(cx);
        LENIENT.with(|l| l.set(false));
        let undecodable = UNDECODABLE.with(|u| u.borrow_mut().take());
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Ok(None)),
            Poll::Ready(Some(Err(status))) => Poll::Ready(Err(status)),
            Poll::Ready(Some(Ok(item))) => Poll::Ready(Ok(Some(match undecodable {
                Some(reason) => Read::Undecodable(reason),
                None => Read::Decoded(item),
            }))),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::v1::VerifyRequest;
    use prost::Message as _;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8];
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn streaming(bytes: Vec<u8>) -> Streaming<VerifyRequest> {
        let body = http_body_util::Full::new(bytes::Bytes::from(bytes));
        Streaming::new_request(
            LenientCodec::<VerifyRequest, VerifyRequest>::default().decoder(),
            body,
            None,
            Some(1 << 20),
        )
    }

    fn good(id: u64) -> Vec<u8> {
        VerifyRequest {
            id,
            profile: 1,
            ..VerifyRequest::default()
        }
        .encode_to_vec()
    }

    #[tokio::test]
    async fn a_message_that_does_not_decode_fails_alone() {
        // A wrong wire type for field 1 and a length running past the message.
        let garbage = [vec![0x0d, 1, 2, 3, 4], vec![0x1a, 0x7f, 0x00]];
        let mut bytes = frame(&good(1));
        for g in &garbage {
            bytes.extend(frame(g));
        }
        bytes.extend(frame(&good(4)));
        let mut s = streaming(bytes);
        let mut reads = Vec::new();
        while let Some(read) = message(&mut s).await.unwrap() {
            reads.push(read);
        }
        assert_eq!(reads.len(), 4, "{reads:?}");
        assert!(matches!(&reads[0], Read::Decoded(r) if r.id == 1));
        assert!(matches!(&reads[1], Read::Undecodable(why) if !why.is_empty()));
        assert!(matches!(&reads[2], Read::Undecodable(_)));
        assert!(matches!(&reads[3], Read::Decoded(r) if r.id == 4));
    }

    #[tokio::test]
    async fn outside_message_decoding_is_strict() {
        let mut bytes = frame(&[0x0d, 1, 2, 3, 4]);
        bytes.extend(frame(&good(2)));
        let mut s = streaming(bytes);
        assert!(s.message().await.is_err());
    }
}
