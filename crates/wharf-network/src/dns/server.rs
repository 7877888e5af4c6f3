//! The server itself: hickory-server on the gateway's port 53 (UDP and
//! TCP), a handler answering from the store and relaying the rest to the
//! host's resolvers, and a watchdog that ends it when its network idles.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Message, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, PTR};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use hickory_server::Server;
use wharf_store::Store;

use super::records;
use crate::attach::addressing;
use crate::{NetResult, NetworkError};

/// How long answers about containers may be cached (aardvark's choice).
const TTL: u32 = 60;

struct Handler {
    store: Arc<Store>,
    network_id: String,
    subnet: crate::Subnet,
    upstreams: Vec<SocketAddr>,
}

/// The host's resolvers (loopback ones too: this server runs on the host).
fn upstreams(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| w.next()).flatten()
        })
        .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// Relay a query as it came, to each upstream in turn.
async fn forward(upstreams: &[SocketAddr], query: &[u8]) -> Option<Message> {
    for up in upstreams {
        let bind: SocketAddr = if up.is_ipv4() {
            "0.0.0.0:0".parse().ok()?
        } else {
            "[::]:0".parse().ok()?
        };
        let Ok(sock) = tokio::net::UdpSocket::bind(bind).await else {
            continue;
        };
        if sock.send_to(query, up).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_secs(3), sock.recv_from(&mut buf)).await
        {
            if let Ok(m) = Message::from_vec(&buf[..n]) {
                return Some(m);
            }
        }
    }
    None
}

fn failed(request: &Request, code: ResponseCode) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = code;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

/// `4.3.2.1.in-addr.arpa` → 1.2.3.4.
fn arpa_to_ip(name: &str) -> Option<Ipv4Addr> {
    let rest = name.trim_end_matches('.').strip_suffix(".in-addr.arpa")?;
    let mut o: Vec<u8> = rest
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if o.len() != 4 {
        return None;
    }
    o.reverse();
    Some(Ipv4Addr::new(o[0], o[1], o[2], o[3]))
}

impl Handler {
    /// Our own answer, if the name is ours: `Some(records)` (maybe empty).
    fn local(&self, name: &str, qtype: RecordType, asker: Option<Ipv4Addr>) -> Option<Vec<Record>> {
        let owner = Name::from_ascii(name).ok()?;
        if let Some(ip) = arpa_to_ip(name) {
            if !self.subnet.contains(ip) || qtype != RecordType::PTR {
                return None;
            }
            let target = records::reverse(&self.store, &self.network_id, ip).ok()??;
            let target = Name::from_ascii(format!("{target}.")).ok()?;
            return Some(vec![Record::from_rdata(
                owner,
                TTL,
                RData::PTR(PTR(target)),
            )]);
        }
        let ips = records::lookup(&self.store, &self.network_id, name, asker).ok()?;
        if ips.is_empty() {
            return None;
        }
        // A known name without the record asked for (AAAA of a
        // container without IPv6, MX…): NOERROR, nothing.
        let rdata = |ip: std::net::IpAddr| match (qtype, ip) {
            (RecordType::A, std::net::IpAddr::V4(v4)) => Some(RData::A(A(v4))),
            (RecordType::AAAA, std::net::IpAddr::V6(v6)) => Some(RData::AAAA(AAAA(v6))),
            _ => None,
        };
        Some(
            ips.into_iter()
                .filter_map(rdata)
                .map(|r| Record::from_rdata(owner.clone(), TTL, r))
                .collect(),
        )
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let Ok(info) = request.request_info() else {
            return failed(request, ResponseCode::FormErr);
        };
        let name = info.query.name().to_string();
        let qtype = info.query.query_type();
        let builder = MessageResponseBuilder::from_message_request(request);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = true;
        let asker = match request.src().ip() {
            std::net::IpAddr::V4(ip) => Some(ip),
            std::net::IpAddr::V6(_) => None,
        };
        let sent = if let Some(answers) = self.local(&name, qtype, asker) {
            metadata.authoritative = true;
            response
                .send_response(builder.build(metadata, answers.iter(), [], [], []))
                .await
        } else {
            let own: Vec<SocketAddr> = asker
                .map(|a| records::asker_upstreams(&self.store, &self.network_id, a))
                .unwrap_or_default()
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 53))
                .collect();
            let upstreams = if own.is_empty() {
                &self.upstreams
            } else {
                &own
            };
            match forward(upstreams, request.as_slice()).await {
                Some(m) => {
                    metadata.response_code = m.metadata.response_code;
                    response
                        .send_response(builder.build(
                            metadata,
                            m.answers.iter(),
                            m.authorities.iter(),
                            [],
                            m.additionals.iter(),
                        ))
                        .await
                }
                None => {
                    response
                        .send_response(builder.error_msg(&request.metadata, ResponseCode::ServFail))
                        .await
                }
            }
        };
        sent.unwrap_or_else(|_| failed(request, ResponseCode::ServFail))
    }
}

/// Run the DNS server of network `network_id` of the store at `root` until
/// the network has no running container. `ready` gets `ok` once it listens.
pub fn serve(root: &Path, network_id: &str, mut ready: Option<std::fs::File>) -> NetResult<()> {
    let result = run_server(root, network_id, &mut ready);
    // A server that cannot start says why on the ready pipe: its stderr
    // is /dev/null, and `network create`/`run` report the line.
    if let (Err(e), Some(f)) = (&result, ready.as_mut()) {
        let _ = writeln!(f, "{e}");
    }
    result
}

fn run_server(root: &Path, network_id: &str, ready: &mut Option<std::fs::File>) -> NetResult<()> {
    let store = Arc::new(Store::open(root)?);
    let net = store
        .read(|tx| wharf_store::networks::get(tx, network_id))?
        .ok_or_else(|| NetworkError::NotFound(format!("network {network_id} not found")))?;
    let a = addressing(&net)?;
    let listen = crate::lower::dns_listen(&net, &a)
        .ok_or_else(|| NetworkError::Invalid(format!("network {} has no DNS server", net.name)))?;
    let addr = SocketAddrV4::new(listen, 53);
    let bind = move || -> NetResult<(std::net::UdpSocket, std::net::TcpListener)> {
        let udp = std::net::UdpSocket::bind(addr)
            .map_err(|e| NetworkError::io(format!("binding {addr}/udp"), e))?;
        let tcp = std::net::TcpListener::bind(addr)
            .map_err(|e| NetworkError::io(format!("binding {addr}/tcp"), e))?;
        Ok((udp, tcp))
    };
    let (udp, tcp) = if crate::lower::is_lower(&net.driver) {
        // The host cannot reach its own macvlan children: the sockets are
        // made in the network's DNS namespace (a thread enters it), while
        // the process stays in the host's, where the upstreams are.
        let ns = crate::lower::dns_netns_path(root, &net.id);
        let ns = std::fs::File::open(&ns)
            .map_err(|e| NetworkError::io(format!("opening {}", ns.display()), e))?;
        std::thread::spawn(move || {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| NetworkError::System(format!("entering the DNS namespace: {e}")))?;
            bind()
        })
        .join()
        .map_err(|_| {
            NetworkError::System("binding the DNS sockets: the thread panicked".into())
        })??
    } else {
        bind()?
    };
    for r in [udp.set_nonblocking(true), tcp.set_nonblocking(true)] {
        r.map_err(|e| NetworkError::io("configuring the DNS sockets", e))?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NetworkError::io("starting the DNS runtime", e))?;
    let handler = Handler {
        store: store.clone(),
        network_id: network_id.to_string(),
        subnet: a.subnet,
        upstreams: upstreams(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
    };
    rt.block_on(async move {
        let mut server = Server::new(handler);
        server.register_socket(
            tokio::net::UdpSocket::from_std(udp)
                .map_err(|e| NetworkError::io("registering the UDP socket", e))?,
        );
        server.register_listener(
            tokio::net::TcpListener::from_std(tcp)
                .map_err(|e| NetworkError::io("registering the TCP socket", e))?,
            Duration::from_secs(5),
            4096,
        );
        if let Some(f) = ready.as_mut() {
            let _ = writeln!(f, "ok");
        }
        drop(ready.take());
        let root = root.to_path_buf();
        // Idle twice in a row (a restart is a moment without an address).
        let mut idle = 0;
        while idle < 2 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let in_use = root.join("db.sqlite").exists() && records::in_use(&store, network_id);
            idle = if in_use { 0 } else { idle + 1 };
        }
        let _ = server.shutdown_gracefully().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resolvers_and_reverse_names() {
        let ups = upstreams("search x\nnameserver 10.0.0.1\nnameserver ::1\nnameserver bad\n");
        assert_eq!(ups.len(), 2);
        assert_eq!(
            arpa_to_ip("2.0.18.172.in-addr.arpa."),
            Some(Ipv4Addr::new(172, 18, 0, 2))
        );
        assert_eq!(arpa_to_ip("db."), None);
    }

    /// Names that are not ours go to the upstream resolver, and its
    /// answer comes back (a fake upstream on loopback).
    #[test]
    fn forwards_other_names_upstream() {
        use hickory_server::proto::op::{MessageType, OpCode, Query};
        let upstream = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = upstream.local_addr().unwrap();
        let name = Name::from_ascii("example.test.").unwrap();
        let answer_name = name.clone();
        let fake = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = upstream.recv_from(&mut buf).unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            r.add_query(q.queries[0].clone());
            r.add_answer(Record::from_rdata(
                answer_name,
                5,
                RData::A(A(Ipv4Addr::new(10, 1, 2, 3))),
            ));
            upstream.send_to(&r.to_vec().unwrap(), from).unwrap();
        });
        let mut q = Message::new(7, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(name, RecordType::A));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let m = rt
            .block_on(forward(&[addr], &q.to_vec().unwrap()))
            .expect("an answer");
        fake.join().unwrap();
        assert_eq!(m.metadata.id, 7);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].data, RData::A(A(Ipv4Addr::new(10, 1, 2, 3))));
    }
}
