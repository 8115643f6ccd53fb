//! Names of derived Services (DESIGN §4, mcs-api `derivedName`): a fixed prefix plus the
//! first 10 characters of the lowercase, unpadded base32hex (RFC 4648 §7) encoding of
//! sha256(`"<namespace>/<name>"`).
//!
//! base32hex is hand-written (a dozen lines, checked against the RFC 4648 §10 test
//! vectors) rather than pulled in from `data-encoding`: it is the only encoding we need
//! and we want the lowercase alphabet directly, without an uppercase pass.

use sha2::{Digest, Sha256};

/// Prefix of GKE's derived Services (`gke-mcs-7pqvt62non`).
pub const GKE_DERIVED_PREFIX: &str = "gke-mcs-";

/// Prefix of the upstream mcs-api derived Services (`derived-7pqvt62non`).
pub const UPSTREAM_DERIVED_PREFIX: &str = "derived-";

/// Number of hash characters after the prefix.
pub const DERIVED_HASH_LEN: usize = 10;

/// RFC 4648 "extended hex" alphabet, lowercase.
const BASE32HEX_LOWER: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// The derived Service name for the ServiceImport `namespace/name`:
/// `prefix` + first 10 chars of lowercase unpadded base32hex(sha256("namespace/name")).
///
/// `derived_name(GKE_DERIVED_PREFIX, "multi-cluster-demo", "whereami")` is
/// `gke-mcs-7pqvt62non`.
pub fn derived_name(prefix: &str, namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let hash = base32hex_lower(&digest);
    format!("{prefix}{}", &hash[..DERIVED_HASH_LEN])
}

/// Lowercase, unpadded base32hex (RFC 4648 §7) of `bytes`.
pub fn base32hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32HEX_LOWER[((buffer >> bits) & 31) as usize],
            ));
        }
        // Only the low `bits` bits are still pending; drop the rest so nothing overflows.
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32HEX_LOWER[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gke_names_from_design() {
        assert_eq!(
            derived_name(GKE_DERIVED_PREFIX, "multi-cluster-demo", "whereami"),
            "gke-mcs-7pqvt62non"
        );
        assert_eq!(
            derived_name(GKE_DERIVED_PREFIX, "app", "myapp"),
            "gke-mcs-1a8qqpah56"
        );
    }

    #[test]
    fn upstream_prefix_uses_the_same_hash() {
        assert_eq!(
            derived_name(UPSTREAM_DERIVED_PREFIX, "multi-cluster-demo", "whereami"),
            "derived-7pqvt62non"
        );
    }

    #[test]
    fn namespace_and_name_are_both_hashed() {
        let a = derived_name("", "a", "bc");
        assert_ne!(a, derived_name("", "ab", "c"));
        assert_ne!(a, derived_name("", "bc", "a"));
        assert_eq!(a.len(), DERIVED_HASH_LEN);
    }

    #[test]
    fn base32hex_rfc4648_vectors() {
        // RFC 4648 §10, BASE32-HEX, lowercased and without padding.
        let vectors = [
            ("", ""),
            ("f", "co"),
            ("fo", "cpng"),
            ("foo", "cpnmu"),
            ("foob", "cpnmuog"),
            ("fooba", "cpnmuoj1"),
            ("foobar", "cpnmuoj1e8"),
        ];
        for (input, expected) in vectors {
            assert_eq!(base32hex_lower(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn base32hex_of_a_full_digest_is_52_chars() {
        let digest = Sha256::digest(b"x");
        let encoded = base32hex_lower(&digest);
        assert_eq!(encoded.len(), 52);
        assert!(encoded.bytes().all(|c| BASE32HEX_LOWER.contains(&c)));
    }
}
