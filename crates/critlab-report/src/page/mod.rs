//! `critlab report`: one self-contained HTML page of a store's runs, drawn with Vega-Lite
//! ([`data`] reads what it shows, [`html`] writes the page).
pub mod analyses;
pub mod data;
pub mod html;

pub use data::{collect, ReportData, ReportOptions};
pub use html::{data_json, render, Mode};

use crate::ReportError;
use std::path::Path;

/// Reads `store` (read-only) and writes the report page to `out`; returns the data shown.
pub fn write_report(store: &Path, opts: &ReportOptions, out: &Path) -> Result<ReportData, ReportError> {
    let store = critlab_store::Store::open_read_only(store)?;
    let data = collect(&store, opts)?;
    if data.runs.is_empty() {
        let which = opts.sweep.as_ref().map_or(String::new(), |s| format!(" of sweep `{s}`"));
        return Err(ReportError::Selection(format!("store {} has no runs{which} to report", store.path().display())));
    }
    let page = render(&data, &Mode::File);
    critlab_core::files::write_atomic_bytes(out, page.as_bytes())
        .map_err(|source| ReportError::Io { path: out.to_path_buf(), source })?;
    Ok(data)
}
