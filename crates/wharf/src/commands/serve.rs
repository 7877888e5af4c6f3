//! `wharf serve`: the Docker Engine API on a unix socket (or loopback
//! tcp, or TLS-verified tcp), in the foreground until SIGTERM/SIGINT.

use std::process::ExitCode;

use crate::cli::ServeArgs;

pub fn serve(root: &std::path::Path, a: ServeArgs) -> anyhow::Result<ExitCode> {
    let tls = a.tlsverify.then_some(wharf_api::TlsFiles {
        ca: a.tlscacert,
        cert: a.tlscert,
        key: a.tlskey,
    });
    wharf_api::serve(wharf_api::ServeOptions {
        root: root.to_path_buf(),
        hosts: a.host,
        group: a.group,
        tls,
    })?;
    Ok(ExitCode::SUCCESS)
}
