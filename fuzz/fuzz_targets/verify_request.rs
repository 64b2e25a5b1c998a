//! A gRPC `VerifyRequest` as the appliance receives it: arbitrary bytes decoded by
//! prost, then the request checks and the conversion into a flat batch that the
//! scheduler runs on every request. Checks that nothing panics, that a request passing
//! `check` yields one transaction per entry with at most the signatures it declared,
//! and that the response built for it has one entry per transaction and signature, with
//! malformed transactions never valid.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use vigil_core::{BatchBuilder, Verdicts};
use vigil_proto::convert;
use vigil_proto::v1::VerifyRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = VerifyRequest::decode(data) else {
        return;
    };
    let Ok(checked) = convert::check(&req) else {
        return;
    };
    let mut builder = BatchBuilder::default();
    convert::push_request(&mut builder, &req, &mut Vec::new()).unwrap();
    let batch = builder.finish();
    assert_eq!(batch.len(), checked.transactions);
    assert!(batch.signature_count() <= checked.signatures);
    let verdicts = Verdicts::from_signatures(&batch, vec![true; batch.signature_count()]).unwrap();
    let resp = convert::response_for(req.id, &batch, &verdicts, 0..batch.len(), "fuzz", None);
    assert_eq!(resp.valid.len(), batch.len());
    assert_eq!(resp.errors.len(), batch.len());
    assert_eq!(resp.signature_valid.len(), batch.signature_count());
    for (tx, error) in resp.errors.iter().enumerate() {
        assert_eq!(error.is_empty(), batch.error(tx).is_none());
        assert!(error.is_empty() || !resp.valid[tx]);
    }
});
