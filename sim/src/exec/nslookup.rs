//! `nslookup NAME [SERVER]`, busybox 1.36 flavour (networking/nslookup.c, the
//! `FEATURE_NSLOOKUP_BIG` resolver) and bind-tools flavour (netshoot).
//!
//! Busybox queries A and AAAA at once; a name without a dot is expanded with every search
//! domain (each expansion queried and printed: NXDOMAIN lines included, exit 1), a name with
//! a dot is queried as-is only (busybox ignores `ndots`). Replies are printed in query order.
//! bind-tools follows libc semantics (search list + `ndots`) and prints the first answer.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};

use super::dns::{self, candidates, display_name, ptr_name, query_ids, query_message};
use super::{ExecEnv, ExecOutput};

const RCODES: [&str; 16] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE", "11", "12", "13", "14", "15",
];

/// The query types busybox accepts, in the order it issues them.
const QTYPES: [(RecordType, &str); 10] = [
    (RecordType::SOA, "SOA"),
    (RecordType::NS, "NS"),
    (RecordType::A, "A"),
    (RecordType::AAAA, "AAAA"),
    (RecordType::CNAME, "CNAME"),
    (RecordType::MX, "MX"),
    (RecordType::TXT, "TXT"),
    (RecordType::SRV, "SRV"),
    (RecordType::PTR, "PTR"),
    (RecordType::ANY, "ANY"),
];

const USAGE: &str = "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n\nQuery DNS about HOST\n\nQUERY_TYPE: soa,ns,a,aaaa,cname,mx,txt,ptr,srv,any\n";

/// Options and operands of an nslookup command line.
struct Opts {
    types: Vec<RecordType>,
    port: Option<u16>,
    retry: u32,
    timeout: Duration,
    name: String,
    server: Option<String>,
}

fn parse(args: &[String]) -> Result<Opts, ExecOutput> {
    let usage = || ExecOutput::fail(1, USAGE);
    let mut o = Opts {
        types: Vec::new(),
        port: None,
        retry: dns::QUERY_ATTEMPTS,
        timeout: dns::QUERY_TIMEOUT,
        name: String::new(),
        server: None,
    };
    let mut rest = args.iter();
    let mut operands = Vec::new();
    for a in rest.by_ref() {
        let Some(opt) = a.strip_prefix('-') else {
            operands.push(a.clone());
            break;
        };
        let (key, val) = opt.split_once('=').unwrap_or((opt, ""));
        let num = || val.parse::<u64>().ok().filter(|n| *n > 0);
        match key {
            "type" | "querytype" | "query" | "q" => {
                let t = QTYPES.iter().find(|(_, n)| n.eq_ignore_ascii_case(val));
                match t {
                    Some((t, _)) => o.types.push(*t),
                    None => {
                        let msg = format!("nslookup: invalid query type \"{val}\"\n");
                        return Err(ExecOutput::fail(1, msg));
                    }
                }
            }
            "port" => {
                o.port = Some(
                    num()
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(usage)?,
                )
            }
            "retry" => {
                o.retry = num()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(usage)?
            }
            "t" | "timeout" => o.timeout = Duration::from_secs(num().ok_or_else(usage)?),
            "debug" => {}
            _ => return Err(usage()),
        }
    }
    operands.extend(rest.cloned());
    match operands.as_slice() {
        [name] => o.name = name.clone(),
        [name, server] => (o.name, o.server) = (name.clone(), Some(server.clone())),
        _ => return Err(usage()),
    }
    Ok(o)
}

/// The server to ask: its name as given, and its address.
async fn server(env: &ExecEnv, o: &Opts) -> Result<(String, SocketAddr), ExecOutput> {
    let Some(given) = &o.server else {
        let mut addr = env.nameserver;
        if let Some(p) = o.port {
            addr.set_port(p);
        }
        return Ok((env.nameserver.ip().to_string(), addr));
    };
    let port = o.port.unwrap_or(53);
    if let Ok(addr) = given.parse::<SocketAddr>() {
        return Ok((given.clone(), addr));
    }
    let ip = match given.parse::<Ipv4Addr>() {
        Ok(ip) => ip,
        Err(_) => match dns::lookup_v4(env, given)
            .await
            .ok()
            .and_then(|v| v.first().copied())
        {
            Some(ip) => ip,
            None => {
                let msg = format!("nslookup: bad address '{given}'\n");
                return Err(ExecOutput::fail(1, msg));
            }
        },
    };
    Ok((given.clone(), SocketAddr::from((ip, port))))
}

/// busybox `nslookup`.
pub async fn busybox(env: &ExecEnv, args: &[String]) -> ExecOutput {
    let o = match parse(args) {
        Ok(o) => o,
        Err(out) => return out,
    };
    let (server_name, addr) = match server(env, &o).await {
        Ok(s) => s,
        Err(out) => return out,
    };
    let names = busybox_queries(env, &o);
    let ids = query_ids(names.len());
    let mut msgs = Vec::new();
    for ((name, t), id) in names.iter().zip(ids) {
        match query_message(id, name, *t) {
            Ok(m) => msgs.push(m),
            Err(_) => return ExecOutput::fail(1, format!("nslookup: invalid name '{name}'\n")),
        }
    }
    let replies = dns::exchange(env.pod_ip, addr, &msgs, o.timeout, o.retry)
        .await
        .unwrap_or_default();
    if replies.iter().all(Option::is_none) {
        return no_servers();
    }
    let mut out = format!("Server:\t\t{server_name}\nAddress:\t{addr}\n\n");
    let mut code = 0;
    for ((name, _), reply) in names.iter().zip(&replies) {
        let Some(reply) = reply else { continue };
        let rcode = reply.metadata.response_code.low();
        if rcode != 0 {
            out += &format!(
                "** server can't find {name}: {}\n",
                RCODES[usize::from(rcode & 0xf)]
            );
            code = 1;
        } else {
            out += &answer_section(reply, false);
        }
        out.push('\n');
    }
    let unanswered: Vec<_> = names
        .iter()
        .zip(&replies)
        .filter(|(_, r)| r.is_none())
        .collect();
    for ((name, _), _) in &unanswered {
        out += &format!("*** Can't find {name}: No answer\n");
    }
    if !unanswered.is_empty() {
        out.push('\n');
    }
    ExecOutput {
        stdout: out.into_bytes(),
        stderr: Vec::new(),
        code,
    }
}

/// busybox's `add_query_with_search` over the requested (or guessed) types.
fn busybox_queries(env: &ExecEnv, o: &Opts) -> Vec<(String, RecordType)> {
    let with_search = |t: RecordType| -> Vec<(String, RecordType)> {
        if t == RecordType::PTR || env.search.is_empty() || o.name.contains('.') {
            vec![(o.name.clone(), t)]
        } else {
            env.search
                .iter()
                .map(|s| (format!("{}.{s}", o.name), t))
                .collect()
        }
    };
    if o.types.is_empty() {
        return match ptr_name(&o.name) {
            Some(ptr) => vec![(ptr, RecordType::PTR)],
            None => [RecordType::A, RecordType::AAAA]
                .into_iter()
                .flat_map(with_search)
                .collect(),
        };
    }
    QTYPES
        .iter()
        .filter(|(t, _)| o.types.contains(t))
        .flat_map(|(t, _)| with_search(*t))
        .collect()
}

fn no_servers() -> ExecOutput {
    ExecOutput {
        stdout: b";; connection timed out; no servers could be reached\n\n".to_vec(),
        stderr: Vec::new(),
        code: 1,
    }
}

/// The answer records as nslookup prints them (`bind` adds trailing dots to targets).
fn answer_section(reply: &Message, bind: bool) -> String {
    let mut out = String::new();
    if !reply.metadata.authoritative {
        out += "Non-authoritative answer:\n";
    }
    for r in &reply.answers {
        out += &record_line(r, bind);
    }
    out
}

fn record_line(r: &Record, bind: bool) -> String {
    let owner = display_name(&r.name);
    let dot = if bind { "." } else { "" };
    let target = |n: &hickory_proto::rr::Name| format!("{}{dot}", display_name(n));
    match &r.data {
        RData::A(a) => format!("Name:\t{owner}\nAddress: {}\n", a.0),
        RData::AAAA(a) => format!("Name:\t{owner}\nAddress: {}\n", a.0),
        RData::CNAME(n) => format!("{owner}\tcanonical name = {}\n", target(&n.0)),
        RData::NS(n) => format!("{owner}\tnameserver = {}\n", target(&n.0)),
        RData::PTR(n) => format!("{owner}\tname = {}\n", target(&n.0)),
        RData::MX(mx) => format!(
            "{owner}\tmail exchanger = {} {}\n",
            mx.preference,
            target(&mx.exchange)
        ),
        RData::SRV(s) => format!(
            "{owner}\tservice = {} {} {} {}\n",
            s.priority,
            s.weight,
            s.port,
            target(&s.target)
        ),
        RData::TXT(t) => match t.txt_data.first() {
            Some(s) if !s.is_empty() => {
                format!("{owner}\ttext = \"{}\"\n", String::from_utf8_lossy(s))
            }
            _ => String::new(),
        },
        RData::SOA(s) => format!(
            "{owner}\n\torigin = {}\n\tmail addr = {}\n\tserial = {}\n\trefresh = {}\n\tretry = {}\n\texpire = {}\n\tminimum = {}\n",
            target(&s.mname),
            target(&s.rname),
            s.serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum
        ),
        _ => String::new(),
    }
}

/// bind-tools `nslookup` (netshoot): libc search semantics, first answer wins.
pub async fn bind(env: &ExecEnv, args: &[String]) -> ExecOutput {
    let o = match parse(args) {
        Ok(o) => o,
        Err(out) => return out,
    };
    let (server_name, addr) = match server(env, &o).await {
        Ok(s) => s,
        Err(out) => return out,
    };
    let rtype = o.types.first().copied().unwrap_or(RecordType::A);
    let names = match ptr_name(&o.name) {
        Some(ptr) if o.types.is_empty() => vec![(ptr, RecordType::PTR)],
        _ => candidates(&o.name, &env.search, env.ndots)
            .into_iter()
            .map(|n| (n, rtype))
            .collect(),
    };
    let header = format!(
        "Server:\t\t{server_name}\nAddress:\t{}#{}\n\n",
        addr.ip(),
        addr.port()
    );
    let mut last = ResponseCode::NoError;
    for (name, t) in names {
        let Ok(msg) = query_message(query_ids(1)[0], &name, t) else {
            continue;
        };
        let replies = dns::exchange(env.pod_ip, addr, &[msg], o.timeout, o.retry).await;
        let Some(Some(reply)) = replies.ok().and_then(|r| r.into_iter().next()) else {
            return no_servers();
        };
        last = reply.metadata.response_code;
        if last == ResponseCode::NoError && !reply.answers.is_empty() {
            let out = format!("{header}{}\n", answer_section(&reply, true));
            return ExecOutput::ok(out);
        }
        if last == ResponseCode::ServFail {
            break;
        }
    }
    let line = if last == ResponseCode::NoError {
        format!("*** Can't find {}: No answer\n", o.name)
    } else {
        let rc = RCODES[usize::from(last.low() & 0xf)];
        format!("** server can't find {}: {rc}\n", o.name)
    };
    ExecOutput {
        stdout: format!("{header}{line}\n").into_bytes(),
        stderr: Vec::new(),
        code: 1,
    }
}
