//! Network rows, containers' endpoints on them, and published host ports.

use rusqlite::{params, Connection, OptionalExtension, Row};

use wharf_model::{Event, EventType};

use crate::{StoreError, StoreResult};

/// The networks every store has, made on demand: no events for them.
const PREDEFINED: [&str; 3] = ["bridge", "host", "none"];

/// A network's event (docker's attributes: its name and driver).
fn network_event(n: &NetworkRecord, action: &str) -> Event {
    Event::new(EventType::Network, action, n.id.as_str())
        .with("name", n.name.as_str())
        .with("type", n.driver.as_str())
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    pub created: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    /// The Linux bridge's name (bridge networks).
    pub bridge: Option<String>,
    /// JSON object.
    pub labels: String,
    /// JSON object.
    pub options: String,
    /// `--ipv6`: containers get an address of `subnet6` too.
    pub ipv6: bool,
    pub subnet6: Option<String>,
    pub gateway6: Option<String>,
}

const NET_COLS: &str = "id, name, driver, created, subnet, gateway, ip_range, internal, bridge, labels, options, ipv6, subnet6, gateway6";

fn net_row(r: &Row) -> rusqlite::Result<NetworkRecord> {
    Ok(NetworkRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        created: r.get(3)?,
        subnet: r.get(4)?,
        gateway: r.get(5)?,
        ip_range: r.get(6)?,
        internal: r.get::<_, i64>(7)? != 0,
        bridge: r.get(8)?,
        labels: r.get(9)?,
        options: r.get(10)?,
        ipv6: r.get::<_, i64>(11)? != 0,
        subnet6: r.get(12)?,
        gateway6: r.get(13)?,
    })
}

/// Insert a network; a taken name is a conflict, as in docker.
pub fn insert(conn: &Connection, n: &NetworkRecord) -> StoreResult<()> {
    if by_name(conn, &n.name)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "network with name {} already exists",
            n.name
        )));
    }
    conn.execute(
        &format!("INSERT INTO networks ({NET_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        params![
            n.id,
            n.name,
            n.driver,
            n.created,
            n.subnet,
            n.gateway,
            n.ip_range,
            n.internal as i64,
            n.bridge,
            n.labels,
            n.options,
            n.ipv6 as i64,
            n.subnet6,
            n.gateway6
        ],
    )?;
    if !PREDEFINED.contains(&n.name.as_str()) {
        crate::events::insert(conn, &network_event(n, "create"))?;
    }
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> StoreResult<Option<NetworkRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {NET_COLS} FROM networks WHERE id = ?1"),
            [id],
            net_row,
        )
        .optional()?)
}

pub fn by_name(conn: &Connection, name: &str) -> StoreResult<Option<NetworkRecord>> {
    Ok(conn
        .query_row(
            &format!("SELECT {NET_COLS} FROM networks WHERE name = ?1"),
            [name],
            net_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> StoreResult<Vec<NetworkRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {NET_COLS} FROM networks ORDER BY created, name"
    ))?;
    let rows = st.query_map([], net_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A network's IPv6 settings (the default bridge's follow the root's
/// daemon.json).
pub fn set_ipv6(
    conn: &Connection,
    id: &str,
    ipv6: bool,
    subnet6: Option<&str>,
    gateway6: Option<&str>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE networks SET ipv6 = ?2, subnet6 = ?3, gateway6 = ?4 WHERE id = ?1",
        params![id, ipv6 as i64, subnet6, gateway6],
    )?;
    Ok(())
}

/// A network's IPv4 subnet and gateway (the default bridge's, moved off a
/// subnet another link took while its bridge was down).
pub fn set_subnet(conn: &Connection, id: &str, subnet: &str, gateway: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE networks SET subnet = ?2, gateway = ?3 WHERE id = ?1",
        params![id, subnet, gateway],
    )?;
    Ok(())
}

/// A network's driver options (JSON object).
pub fn set_options(conn: &Connection, id: &str, options: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE networks SET options = ?2 WHERE id = ?1",
        params![id, options],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: &str) -> StoreResult<bool> {
    let Some(n) = get(conn, id)? else {
        return Ok(false);
    };
    conn.execute("DELETE FROM networks WHERE id = ?1", [id])?;
    crate::events::insert(conn, &network_event(&n, "destroy"))?;
    Ok(true)
}

/// `connect`/`disconnect` events for container `container_id` on one
/// network (`Some`) or on each of its networks in attach order.
pub fn endpoint_events(
    conn: &Connection,
    container_id: &str,
    network_id: Option<&str>,
    action: &str,
) -> StoreResult<()> {
    for ep in endpoints_of(conn, container_id)? {
        if network_id.is_some_and(|n| n != ep.network_id) {
            continue;
        }
        if let Some(n) = get(conn, &ep.network_id)? {
            crate::events::insert(
                conn,
                &network_event(&n, action).with("container", container_id),
            )?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndpointRecord {
    pub container_id: String,
    pub network_id: String,
    /// Attach order; the lowest gives the container its default route.
    pub seq: i64,
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ip_requested: Option<String>,
    /// Set while the container runs.
    pub ip: Option<String>,
    pub mac: Option<String>,
    /// `--ip6`.
    pub ip6_requested: Option<String>,
    /// Set while the container runs, on an IPv6 network.
    pub ip6: Option<String>,
}

const EP_COLS: &str =
    "container_id, network_id, seq, aliases, ip_requested, ip, mac, ip6_requested, ip6";

fn ep_row(r: &Row) -> rusqlite::Result<EndpointRecord> {
    let aliases: String = r.get(3)?;
    Ok(EndpointRecord {
        container_id: r.get(0)?,
        network_id: r.get(1)?,
        seq: r.get(2)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
        ip_requested: r.get(4)?,
        ip: r.get(5)?,
        mac: r.get(6)?,
        ip6_requested: r.get(7)?,
        ip6: r.get(8)?,
    })
}

/// Attach a container to a network (after its other networks).
pub fn add_endpoint(conn: &Connection, e: &EndpointRecord) -> StoreResult<()> {
    let seq: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), -1) + 1 FROM endpoints WHERE container_id = ?1",
        [&e.container_id],
        |r| r.get(0),
    )?;
    conn.execute(
        &format!("INSERT INTO endpoints ({EP_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            e.container_id,
            e.network_id,
            seq,
            serde_json::to_string(&e.aliases).expect("serializes"),
            e.ip_requested,
            e.ip,
            e.mac,
            e.ip6_requested,
            e.ip6
        ],
    )?;
    Ok(())
}

pub fn remove_endpoint(
    conn: &Connection,
    container_id: &str,
    network_id: &str,
) -> StoreResult<bool> {
    Ok(conn.execute(
        "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2",
        [container_id, network_id],
    )? > 0)
}

/// A container's endpoints, in attach order.
pub fn endpoints_of(conn: &Connection, container_id: &str) -> StoreResult<Vec<EndpointRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM endpoints WHERE container_id = ?1 ORDER BY seq"
    ))?;
    let rows = st.query_map([container_id], ep_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every container's endpoints, by container and in attach order (one
/// query for a whole `ps`).
pub fn all_endpoints(conn: &Connection) -> StoreResult<Vec<EndpointRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM endpoints ORDER BY container_id, seq"
    ))?;
    let rows = st.query_map([], ep_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every endpoint on a network (running or not).
pub fn endpoints_on(conn: &Connection, network_id: &str) -> StoreResult<Vec<EndpointRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM endpoints WHERE network_id = ?1 ORDER BY container_id"
    ))?;
    let rows = st.query_map([network_id], ep_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The endpoints on `network_id` whose container may answer to `name`
/// (lowercase ASCII): its name, ID, aliases or record (hostname, compose
/// service) contain it. A superset of the exact matches, found by SQLite
/// without decoding a record: a DNS lookup then decodes these few instead
/// of every container on the network.
pub fn endpoints_on_mentioning(
    conn: &Connection,
    network_id: &str,
    name: &str,
) -> StoreResult<Vec<EndpointRecord>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {EP_COLS} FROM endpoints WHERE network_id = ?1 AND (instr(lower(aliases), ?2) > 0 \
         OR container_id IN (SELECT id FROM containers WHERE instr(lower(name), ?2) > 0 \
         OR instr(id, ?2) > 0 OR instr(lower(config), ?2) > 0)) ORDER BY container_id"
    ))?;
    let rows = st.query_map([network_id, name], ep_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every endpoint that has an address (its container's network is up).
pub fn active_endpoints(conn: &Connection) -> StoreResult<Vec<EndpointRecord>> {
    let mut st = conn.prepare(&format!(
        "SELECT {EP_COLS} FROM endpoints WHERE ip IS NOT NULL ORDER BY network_id, container_id"
    ))?;
    let rows = st.query_map([], ep_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An endpoint's addresses; without an IPv4 address (its container
/// stopped) it has no IPv6 one either.
pub fn set_endpoint_address(
    conn: &Connection,
    container_id: &str,
    network_id: &str,
    ip: Option<&str>,
    mac: Option<&str>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE endpoints SET ip = ?3, mac = ?4, ip6 = CASE WHEN ?3 IS NULL THEN NULL ELSE ip6 END WHERE container_id = ?1 AND network_id = ?2",
        params![container_id, network_id, ip, mac],
    )?;
    Ok(())
}

/// An endpoint's IPv6 address (set beside its IPv4 one).
pub fn set_endpoint_ip6(
    conn: &Connection,
    container_id: &str,
    network_id: &str,
    ip6: Option<&str>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE endpoints SET ip6 = ?3 WHERE container_id = ?1 AND network_id = ?2",
        params![container_id, network_id, ip6],
    )?;
    Ok(())
}

/// A build step's endpoint: no container row, no aliases, one network
/// (the default bridge), for as long as its step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEndpointRecord {
    pub step_id: String,
    pub network_id: String,
    pub ip: String,
    pub mac: String,
    /// Where the step's namespace is bind-mounted.
    pub netns: String,
    /// The PID of the build that holds it.
    pub owner: i32,
}

pub fn add_step_endpoint(conn: &Connection, e: &StepEndpointRecord) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO step_endpoints (step_id, network_id, ip, mac, netns, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![e.step_id, e.network_id, e.ip, e.mac, e.netns, e.owner],
    )?;
    Ok(())
}

pub fn remove_step_endpoint(conn: &Connection, step_id: &str) -> StoreResult<bool> {
    Ok(conn.execute("DELETE FROM step_endpoints WHERE step_id = ?1", [step_id])? > 0)
}

/// Every build step's endpoint (a handful at most: one per running step).
pub fn step_endpoints(conn: &Connection) -> StoreResult<Vec<StepEndpointRecord>> {
    let mut st = conn.prepare_cached(
        "SELECT step_id, network_id, ip, mac, netns, owner FROM step_endpoints ORDER BY step_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(StepEndpointRecord {
            step_id: r.get(0)?,
            network_id: r.get(1)?,
            ip: r.get(2)?,
            mac: r.get(3)?,
            netns: r.get(4)?,
            owner: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRecord {
    pub container_id: String,
    /// `tcp` or `udp`.
    pub proto: String,
    pub container_port: u16,
    /// `0.0.0.0` for every host address.
    pub host_ip: String,
    pub host_port: u16,
}

fn port_row(r: &Row) -> rusqlite::Result<PortRecord> {
    Ok(PortRecord {
        container_id: r.get(0)?,
        proto: r.get(1)?,
        container_port: r.get(2)?,
        host_ip: r.get(3)?,
        host_port: r.get(4)?,
    })
}

/// Replace a container's published ports.
pub fn set_ports(conn: &Connection, container_id: &str, ports: &[PortRecord]) -> StoreResult<()> {
    conn.execute("DELETE FROM ports WHERE container_id = ?1", [container_id])?;
    for p in ports {
        conn.execute(
            "INSERT OR IGNORE INTO ports (container_id, proto, container_port, host_ip, host_port) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![container_id, p.proto, p.container_port, p.host_ip, p.host_port],
        )?;
    }
    Ok(())
}

/// Published ports: one container's, or every container's.
pub fn ports(conn: &Connection, container_id: Option<&str>) -> StoreResult<Vec<PortRecord>> {
    const SQL: &str = "SELECT container_id, proto, container_port, host_ip, host_port FROM ports";
    let mut out: Vec<PortRecord> = match container_id {
        Some(id) => {
            let mut st = conn.prepare(&format!("{SQL} WHERE container_id = ?1"))?;
            let rows = st.query_map([id], port_row)?;
            rows.collect::<Result<_, _>>()?
        }
        None => {
            let mut st = conn.prepare(SQL)?;
            let rows = st.query_map([], port_row)?;
            rows.collect::<Result<_, _>>()?
        }
    };
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_order_and_cascade() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO images (id, size, added_at) VALUES ('sha256:aa', 0, 'now');
                     INSERT INTO containers (id, name, image_id, image_ref, created, state, config)
                     VALUES ('c1', 'one', 'sha256:aa', 'x', 'now', 'created', '{}');",
                )?;
                for (id, name) in [("n1", "first"), ("n2", "second")] {
                    insert(
                        tx,
                        &NetworkRecord {
                            id: id.into(),
                            name: name.into(),
                            driver: "bridge".into(),
                            labels: "{}".into(),
                            options: "{}".into(),
                            ..Default::default()
                        },
                    )?;
                }
                assert!(insert(
                    tx,
                    &NetworkRecord {
                        id: "n3".into(),
                        name: "first".into(),
                        ..Default::default()
                    }
                )
                .is_err());
                for n in ["n2", "n1"] {
                    add_endpoint(
                        tx,
                        &EndpointRecord {
                            container_id: "c1".into(),
                            network_id: n.into(),
                            aliases: vec!["db".into()],
                            ..Default::default()
                        },
                    )?;
                }
                set_endpoint_address(tx, "c1", "n1", Some("172.18.0.2"), None)?;
                set_ports(
                    tx,
                    "c1",
                    &[PortRecord {
                        container_id: "c1".into(),
                        proto: "tcp".into(),
                        container_port: 80,
                        host_ip: "0.0.0.0".into(),
                        host_port: 8080,
                    }],
                )?;
                Ok(())
            })
            .unwrap();
        store
            .read(|tx| {
                let eps = endpoints_of(tx, "c1")?;
                assert_eq!(eps[0].network_id, "n2");
                assert_eq!(eps[1].aliases, vec!["db".to_string()]);
                assert_eq!(active_endpoints(tx)?.len(), 1);
                assert_eq!(ports(tx, Some("c1"))?.len(), 1);
                Ok(())
            })
            .unwrap();
        store
            .write(|tx| {
                tx.execute("DELETE FROM containers WHERE id = 'c1'", [])?;
                assert!(endpoints_of(tx, "c1")?.is_empty());
                assert!(ports(tx, None)?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}
