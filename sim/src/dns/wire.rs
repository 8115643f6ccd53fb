//! What CoreDNS does to a reply after the plugin that made it, in the order of the kubeadm
//! Corefile's chain: the `loadbalance` plugin shuffles the records, then the server's scrub
//! writer truncates the message to what the client can take.
//!
//! - `loadbalance` (default policy `round_robin`, `plugin/loadbalance/loadbalance.go`): in
//!   each section of a NOERROR reply, A/AAAA (and MX) records are put in random order;
//!   CNAMEs stay first, other records (SRV, PTR, …) keep their order before the addresses.
//! - truncation (`request.Scrub` → miekg/dns `Msg.Truncate`): the limit is the client's EDNS
//!   payload size (at least 512) over UDP, 512 without EDNS, 65535 over TCP; the answer,
//!   authority and additional sections are filled in that order with as many records as
//!   fit, and TC is set when any record was left out. A client that sees TC retries over
//!   TCP and gets everything.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Record, RecordType};
use rand::seq::SliceRandom;

/// Shuffles the address records of every section, as `loadbalance round_robin` does.
pub(super) fn shuffle(msg: &mut Message) {
    if msg.metadata.response_code != ResponseCode::NoError {
        return;
    }
    let mut rng = rand::rng();
    for section in [&mut msg.answers, &mut msg.authorities, &mut msg.additionals] {
        round_robin(section, &mut rng);
    }
}

fn round_robin(records: &mut Vec<Record>, rng: &mut impl rand::Rng) {
    if records.len() <= 1 {
        return;
    }
    let is_address = |r: &Record| matches!(r.record_type(), RecordType::A | RecordType::AAAA);
    if records.iter().all(is_address)
        && records
            .iter()
            .all(|r| r.record_type() == records[0].record_type())
    {
        records.shuffle(rng);
        return;
    }
    let (mut cname, mut address, mut mx, mut rest) = (vec![], vec![], vec![], vec![]);
    for r in records.drain(..) {
        match r.record_type() {
            RecordType::CNAME => cname.push(r),
            RecordType::A | RecordType::AAAA => address.push(r),
            RecordType::MX => mx.push(r),
            _ => rest.push(r),
        }
    }
    address.shuffle(rng);
    mx.shuffle(rng);
    records.extend(cname);
    records.extend(rest);
    records.extend(address);
    records.extend(mx);
}

/// Encodes `msg` in at most `limit` bytes (at least 512), dropping the records that do not
/// fit and setting TC if any was dropped; `None` when even the bare message cannot be
/// encoded.
pub(super) fn encode_within(msg: &Message, limit: usize) -> Option<Vec<u8>> {
    let limit = limit.max(512);
    let full = msg.to_vec().ok()?;
    if full.len() <= limit {
        return Some(full);
    }
    let mut out = msg.clone();
    let (answers, authorities, additionals) = (
        std::mem::take(&mut out.answers),
        std::mem::take(&mut out.authorities),
        std::mem::take(&mut out.additionals),
    );
    let mut complete = true;
    for (section, records) in [(0, answers), (1, authorities), (2, additionals)] {
        if !complete {
            break;
        }
        let n = largest_prefix(&mut out, section, &records, limit);
        complete = n == records.len();
        let kept = records.into_iter().take(n);
        section_mut(&mut out, section).extend(kept);
    }
    if !complete {
        out.metadata.truncation = true;
    }
    out.to_vec().ok()
}

fn section_mut(msg: &mut Message, section: usize) -> &mut Vec<Record> {
    match section {
        0 => &mut msg.answers,
        1 => &mut msg.authorities,
        _ => &mut msg.additionals,
    }
}

/// How many of `records` can be appended to section `section` of `msg` within `limit`
/// (binary search; the encoded length grows with every record). `msg` is left unchanged.
fn largest_prefix(msg: &mut Message, section: usize, records: &[Record], limit: usize) -> usize {
    let base = section_mut(msg, section).len();
    let fits = |msg: &mut Message, n: usize| {
        section_mut(msg, section).extend_from_slice(&records[..n]);
        let ok = msg.to_vec().is_ok_and(|b| b.len() <= limit);
        section_mut(msg, section).truncate(base);
        ok
    };
    let (mut lo, mut hi) = (0, records.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(msg, mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}
