//! Remote DICOM nodes: the scanners, workstations and other PACS the practice talks to.

use rusqlite::{OptionalExtension, params};

use super::{SqlContext, Store, StoreError, StoreResult};

/// A configured remote DICOM application entity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DicomNode {
    /// Short name the staff use ("CT scanner", "orthanc").
    pub name: String,
    /// Its AE title.
    pub ae_title: String,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether an association calling with this AE title must come from `host` (when a host
    /// is set): an AE title is only a name the caller gives itself.
    pub check_host: bool,
    /// What this node may ask of us (comma list of [`NODE_SERVICES`]).
    pub services: String,
}

/// The services a node can be allowed: `store` (C-STORE, Storage Commitment), `query`
/// (C-FIND, C-MOVE, C-GET) and `worklist` (Modality Worklist, MPPS).
pub const NODE_SERVICES: [&str; 3] = ["store", "query", "worklist"];

impl DicomNode {
    /// A node allowed every service, checked by host when it has one (the usual case).
    pub fn new(name: &str, ae_title: &str, host: &str, port: u16) -> DicomNode {
        DicomNode {
            name: name.into(),
            ae_title: ae_title.into(),
            host: host.into(),
            port,
            check_host: true,
            services: NODE_SERVICES.join(","),
        }
    }

    /// Whether this node may use `service` (one of [`NODE_SERVICES`]).
    pub fn allows(&self, service: &str) -> bool {
        self.services
            .split(',')
            .any(|s| s.trim().eq_ignore_ascii_case(service))
    }
}

impl Store {
    /// Adds a node, or replaces the one with the same name.
    pub fn save_node(&self, node: &DicomNode) -> StoreResult<()> {
        if node.name.trim().is_empty() || node.ae_title.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a node needs a name and an AE title".into(),
            ));
        }
        if node.ae_title.len() > 16 {
            return Err(StoreError::Invalid(format!(
                "AE title {:?} is longer than 16 characters",
                node.ae_title
            )));
        }
        if let Some(bad) = node
            .services
            .split(',')
            .map(str::trim)
            .find(|s| !s.is_empty() && !NODE_SERVICES.contains(s))
        {
            return Err(StoreError::Invalid(format!(
                "unknown node service {bad:?} (store, query, worklist)"
            )));
        }
        self.cached_execute(
                "INSERT INTO dicom_nodes (name, ae_title, host, port, check_host, services)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (name) DO UPDATE SET ae_title = excluded.ae_title, host = excluded.host,
                    port = excluded.port, check_host = excluded.check_host, services = excluded.services",
                params![node.name, node.ae_title, node.host, node.port, node.check_host, node.services],
            )
            .ctx("saving a DICOM node")?;
        Ok(())
    }

    /// Removes a node by name; returns whether it existed.
    pub fn remove_node(&self, name: &str) -> StoreResult<bool> {
        let n = self
            .conn
            .execute("DELETE FROM dicom_nodes WHERE name = ?1", [name])
            .ctx("removing a DICOM node")?;
        Ok(n > 0)
    }

    /// All nodes, by name.
    pub fn nodes(&self) -> StoreResult<Vec<DicomNode>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, ae_title, host, port, check_host, services FROM dicom_nodes ORDER BY name")
            .ctx("listing DICOM nodes")?;
        let rows = stmt.query_map([], row_to_node).ctx("listing DICOM nodes")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading DICOM nodes")
    }

    /// The node called `name`.
    pub fn node_by_name(&self, name: &str) -> StoreResult<Option<DicomNode>> {
        self.cached_query_row(
            "SELECT name, ae_title, host, port, check_host, services FROM dicom_nodes WHERE name = ?1",
            [name],
            row_to_node,
        )
        .optional()
        .ctx("finding a DICOM node")
    }

    /// The node with this AE title (the first by name if several share it).
    pub fn node_by_ae_title(&self, ae_title: &str) -> StoreResult<Option<DicomNode>> {
        self.cached_query_row(
                "SELECT name, ae_title, host, port, check_host, services FROM dicom_nodes WHERE ae_title = ?1 ORDER BY name LIMIT 1",
                [ae_title.trim()],
                row_to_node,
            )
            .optional()
            .ctx("finding a DICOM node by AE title")
    }
}

fn row_to_node(r: &rusqlite::Row<'_>) -> rusqlite::Result<DicomNode> {
    Ok(DicomNode {
        name: r.get(0)?,
        ae_title: r.get(1)?,
        host: r.get(2)?,
        port: r.get(3)?,
        check_host: r.get(4)?,
        services: r.get(5)?,
    })
}
