//! TFRecord framing, the container of TensorBoard event files: each record is
//!
//! ```text
//! u64 length (little endian) | u32 masked CRC-32C of the 8 length bytes | data | u32 masked CRC-32C of data
//! ```
//!
//! with TensorFlow's mask `((crc >> 15) | (crc << 17)) + 0xa282ead8` (tensorflow/core/lib/hash/crc32c.h).
//! A file still being written can end inside its last record; [`split`] returns the complete
//! records and the offset of the cut. A checksum that does not match anywhere else is damage.

/// TensorFlow's masking of a CRC-32C (Castagnoli) checksum.
pub fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// A damaged record: its byte offset and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Byte offset of the record's length field.
    pub offset: u64,
    /// What does not match.
    pub reason: String,
}

/// The records of one file.
#[derive(Debug, Default)]
pub struct Records<'a> {
    /// (offset, data) of every complete record.
    pub records: Vec<(u64, &'a [u8])>,
    /// Offset of an incomplete last record (the file ends inside it), if any.
    pub truncated_at: Option<u64>,
}

/// The largest record accepted (1 GiB): an event is a few bytes to a few megabytes, and a
/// longer claimed length is damage, not a record to wait for.
pub const MAX_RECORD_BYTES: u64 = 1 << 30;

/// Splits a file's bytes into records, checking both checksums of each.
pub fn split(bytes: &[u8]) -> Result<Records<'_>, FrameError> {
    let mut out = Records::default();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let offset = pos as u64;
        let rest = &bytes[pos..];
        if rest.len() < 12 {
            out.truncated_at = Some(offset);
            break;
        }
        let len_bytes = &rest[..8];
        let stored = u32::from_le_bytes(rest[8..12].try_into().expect("4 bytes"));
        if masked_crc(len_bytes) != stored {
            return Err(FrameError {
                offset,
                reason: "the checksum of the record length does not match (damaged file)".into(),
            });
        }
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes"));
        if len > MAX_RECORD_BYTES {
            return Err(FrameError {
                offset,
                reason: format!(
                    "the record claims {len} bytes, more than any event ({MAX_RECORD_BYTES} bytes at most): damaged file"
                ),
            });
        }
        let need = 12u64.saturating_add(len).saturating_add(4);
        if (rest.len() as u64) < need {
            out.truncated_at = Some(offset);
            break;
        }
        let len = len as usize;
        let data = &rest[12..12 + len];
        let stored = u32::from_le_bytes(rest[12 + len..16 + len].try_into().expect("4 bytes"));
        if masked_crc(data) != stored {
            return Err(FrameError {
                offset,
                reason: format!("the checksum of the {len}-byte record does not match (damaged file)"),
            });
        }
        out.records.push((offset, data));
        pos += 16 + len;
    }
    Ok(out)
}

/// Appends one framed record (for writing test files).
pub fn frame(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // CRC-32C of "123456789" is 0xE3069283 (the standard check value); masked by hand.
        let crc: u32 = 0xE306_9283;
        assert_eq!(crc32c::crc32c(b"123456789"), crc);
        assert_eq!(masked_crc(b"123456789"), ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8));
    }

    #[test]
    fn records_round_trip_a_cut_last_record_is_reported_and_damage_is_an_error() {
        let mut bytes = Vec::new();
        frame(&mut bytes, b"first");
        frame(&mut bytes, b"");
        frame(&mut bytes, b"third record");
        let r = split(&bytes).unwrap();
        assert_eq!(r.records.iter().map(|(_, d)| *d).collect::<Vec<_>>(), vec![&b"first"[..], b"", b"third record"]);
        assert_eq!(r.records[1].0, 21);
        assert_eq!(r.truncated_at, None);
        for cut in [bytes.len() - 1, bytes.len() - 10, 37 + 5] {
            let r = split(&bytes[..cut]).unwrap();
            assert_eq!(r.records.len(), 2, "cut at {cut}");
            assert_eq!(r.truncated_at, Some(37));
        }
        let mut bad = bytes.clone();
        bad[21 + 12 + 2] ^= 1; // inside the checksum of the empty record's data
        assert_eq!(split(&bad).unwrap_err().offset, 21);
        let mut bad = bytes.clone();
        bad[2] ^= 0x40; // the first record's length
        let e = split(&bad).unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.reason.contains("length"), "{}", e.reason);
    }
}
