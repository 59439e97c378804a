//! MLLP framing (HL7 v2 over TCP): `0x0B` + message + `0x1C 0x0D`. The decoder takes bytes as
//! they arrive (any split, several frames at once), skips noise between frames, and refuses a
//! frame larger than the configured maximum before buffering it, so a sender that never ends a
//! frame cannot exhaust memory.

/// Start of block.
pub const START_BLOCK: u8 = 0x0B;
/// End of block.
pub const END_BLOCK: u8 = 0x1C;
/// Carriage return that follows the end of block.
pub const CARRIAGE_RETURN: u8 = 0x0D;

/// Wraps one message in an MLLP frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START_BLOCK);
    out.extend_from_slice(message);
    out.push(END_BLOCK);
    out.push(CARRIAGE_RETURN);
    out
}

/// Why the stream cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MllpError {
    /// A frame grew past the maximum message size.
    #[error("message larger than {max_bytes} bytes")]
    TooLarge {
        /// The limit.
        max_bytes: usize,
    },
}

/// Incremental MLLP decoder.
#[derive(Debug)]
pub struct MllpDecoder {
    max_bytes: usize,
    /// Bytes of the frame being read (after its start byte); None between frames.
    current: Option<Vec<u8>>,
    /// Noise bytes skipped between frames (logged by the caller, never an error).
    pub skipped_bytes: u64,
}

impl MllpDecoder {
    /// A decoder refusing messages over `max_bytes`.
    pub fn new(max_bytes: usize) -> MllpDecoder {
        MllpDecoder {
            max_bytes,
            current: None,
            skipped_bytes: 0,
        }
    }

    /// Feeds received bytes; returns the messages they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, MllpError> {
        let mut complete = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match &mut self.current {
                None => match memchr::memchr(START_BLOCK, &bytes[i..]) {
                    Some(at) => {
                        self.skipped_bytes += at as u64;
                        self.current = Some(Vec::new());
                        i += at + 1;
                    }
                    None => {
                        self.skipped_bytes += (bytes.len() - i) as u64;
                        i = bytes.len();
                    }
                },
                Some(buffer) => {
                    let rest = &bytes[i..];
                    match memchr::memchr(END_BLOCK, rest) {
                        Some(at) => {
                            if buffer.len() + at > self.max_bytes {
                                self.current = None;
                                return Err(MllpError::TooLarge {
                                    max_bytes: self.max_bytes,
                                });
                            }
                            buffer.extend_from_slice(&rest[..at]);
                            if let Some(message) = self.current.take() {
                                complete.push(message);
                            }
                            // The CR after the end byte is optional in practice: skip it if there.
                            i += at + 1;
                            if bytes.get(i) == Some(&CARRIAGE_RETURN) {
                                i += 1;
                            }
                        }
                        None => {
                            if buffer.len() + rest.len() > self.max_bytes {
                                self.current = None;
                                return Err(MllpError::TooLarge {
                                    max_bytes: self.max_bytes,
                                });
                            }
                            buffer.extend_from_slice(rest);
                            i = bytes.len();
                        }
                    }
                }
            }
        }
        Ok(complete)
    }

    /// Bytes of the unfinished frame held (what this connection costs in memory).
    pub fn buffered(&self) -> usize {
        self.current.as_ref().map_or(0, Vec::capacity)
    }

    /// Whether a frame is open (the peer closing now would cut a message).
    pub fn in_frame(&self) -> bool {
        self.current.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_whatever_the_split() {
        let messages: Vec<Vec<u8>> = vec![
            b"MSH|^~\\&|A|B|C|D|20260101||ADT^A04|1|P|2.5\rPID|1||X".to_vec(),
            b"MSH|^~\\&|A|B|C|D|20260101||ADT^A08|2|P|2.5\r".to_vec(),
        ];
        let stream: Vec<u8> = messages.iter().flat_map(|m| frame(m)).collect();
        for chunk in [1, 2, 3, 7, 64, stream.len()] {
            let mut decoder = MllpDecoder::new(1 << 20);
            let mut out = Vec::new();
            for piece in stream.chunks(chunk) {
                out.extend(decoder.push(piece).unwrap());
            }
            assert_eq!(out, messages, "chunk {chunk}");
            assert!(!decoder.in_frame());
        }
    }

    #[test]
    fn noise_between_frames_is_skipped_and_a_missing_cr_tolerated() {
        let mut decoder = MllpDecoder::new(1024);
        let mut stream = b"junk\r\n".to_vec();
        stream.extend(frame(b"ONE"));
        stream.extend([START_BLOCK]);
        stream.extend(b"TWO");
        stream.extend([END_BLOCK]); // no CR
        stream.extend(frame(b"THREE"));
        let out = decoder.push(&stream).unwrap();
        assert_eq!(
            out,
            vec![b"ONE".to_vec(), b"TWO".to_vec(), b"THREE".to_vec()]
        );
        assert_eq!(decoder.skipped_bytes, 6);
    }

    #[test]
    fn an_endless_frame_is_refused_at_the_limit() {
        let mut decoder = MllpDecoder::new(100);
        assert!(decoder.push(&[START_BLOCK]).unwrap().is_empty());
        assert!(decoder.push(&[b'x'; 60]).unwrap().is_empty());
        assert_eq!(
            decoder.push(&[b'x'; 60]),
            Err(MllpError::TooLarge { max_bytes: 100 })
        );
        // After the refusal the decoder looks for the next frame.
        assert_eq!(decoder.push(&frame(b"OK")).unwrap(), vec![b"OK".to_vec()]);
        let mut decoder = MllpDecoder::new(4);
        assert!(decoder.push(&frame(b"12345")).is_err());
    }

    #[test]
    fn a_cut_frame_is_visible() {
        let mut decoder = MllpDecoder::new(100);
        decoder.push(&[START_BLOCK, b'M', b'S']).unwrap();
        assert!(decoder.in_frame());
    }
}
