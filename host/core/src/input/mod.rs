//! Input forms parsed into a [`crate::Batch`].
//!
//! * [`jsonl`]: the JSON Lines interchange form (hex messages and signers), and the
//!   matching verdict output;
//! * [`solana`]: Solana wire transactions, raw or one base64 transaction per line.
//!
//! Both text forms are line-based and share one rule, implemented once here: **one
//! transaction per line, always**. A line that cannot be parsed is still a transaction
//! (malformed, invalid, with its reason), so verdict `i` always answers input line `i`
//! and a caller never has to re-align output with input. Lines end with `"\n"`; a
//! trailing `"\r"` is stripped (files written on Windows); a final newline ends the
//! last line rather than starting an empty one, but an empty line anywhere else is a
//! (malformed) transaction, because silently skipping it would shift the verdicts.
//!
//! Parsers never fail on content: the only error is [`crate::BatchError`] (the batch
//! outgrew its arena).

pub mod jsonl;
pub mod solana;

/// The lines of `input` under the rules in the module docs.
pub fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = if input.is_empty() {
        None
    } else {
        Some(input.strip_suffix(b"\n").unwrap_or(input))
    };
    body.into_iter()
        .flat_map(|body| body.split(|&b| b == b'\n'))
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

/// How many lines [`lines`] yields (for sizing a batch up front).
pub(crate) fn line_count(input: &[u8]) -> usize {
    match input.split_last() {
        None => 0,
        Some((&last, _)) => {
            input.iter().filter(|&&b| b == b'\n').count() + usize::from(last != b'\n')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_rules() {
        let cases: [(&[u8], &[&[u8]]); 8] = [
            (b"", &[]),
            (b"\n", &[b""]),
            (b"a", &[b"a"]),
            (b"a\n", &[b"a"]),
            (b"a\r\n", &[b"a"]),
            (b"a\n\nb", &[b"a", b"", b"b"]),
            (b"a\r\r\n\n", &[b"a\r", b""]),
            (b"\r", &[b""]),
        ];
        for (input, want) in cases {
            let got: Vec<&[u8]> = lines(input).collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
            assert_eq!(line_count(input), want.len());
        }
    }
}
