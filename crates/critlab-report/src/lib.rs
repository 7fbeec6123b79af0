//! # critlab-report
//!
//! Every figure and page of critlab: [`plot`] draws the analyses of critlab-physics (which holds
//! numbers only) as self-contained SVG strings; [`write_figure`] writes them as SVG and
//! rasterises them to PNG with resvg; [`page`] writes the interactive report (one HTML file with
//! Vega-Lite) and [`serve`] serves it live over HTTP. Text is set in DejaVu Sans,
//! embedded in the binary (`fonts/`, Bitstream Vera licence with public-domain DejaVu
//! changes), so a PNG looks the same on a machine without any installed fonts.
#![warn(missing_docs)]

pub mod page;
pub mod plot;
pub mod serve;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The embedded font.
const DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Errors writing a figure or a report, or serving one.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] critlab_store::StoreError),
    /// The runs asked for are not in the store or the sweep.
    #[error("{0}")]
    Selection(String),
    /// The server could not bind its address.
    #[error("cannot serve on {addr}: {reason}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        reason: String,
    },
    /// The server failed while running.
    #[error("critlab serve: {0}")]
    Serve(String),
    /// The SVG could not be parsed (a bug in the figure code).
    #[error("figure {path} is not valid SVG: {reason}")]
    Svg {
        /// The file being written.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The image could not be rasterised or encoded.
    #[error("cannot rasterise figure {path}: {reason}")]
    Raster {
        /// The file being written.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Rasterises an SVG document to PNG bytes at `scale` pixels per SVG unit.
pub fn png_bytes(svg: &str, scale: f32, path_for_errors: &Path) -> Result<Vec<u8>, ReportError> {
    let mut opt = resvg::usvg::Options::default();
    let mut db = resvg::usvg::fontdb::Database::new();
    db.load_font_data(DEJAVU_SANS.to_vec());
    db.set_sans_serif_family("DejaVu Sans");
    opt.fontdb = Arc::new(db);
    opt.font_family = "DejaVu Sans".into();
    let tree = resvg::usvg::Tree::from_str(svg, &opt)
        .map_err(|e| ReportError::Svg { path: path_for_errors.to_path_buf(), reason: e.to_string() })?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| ReportError::Raster { path: path_for_errors.to_path_buf(), reason: "empty image".into() })?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| ReportError::Raster {
        path: path_for_errors.to_path_buf(),
        reason: format!("cannot allocate {}x{} pixels", size.width(), size.height()),
    })?;
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| ReportError::Raster { path: path_for_errors.to_path_buf(), reason: e.to_string() })
}

/// Writes `svg` to `path`: as is for a `.svg` file, rasterised at 2x for `.png`, and to both
/// `<stem>.svg` and `<stem>.png` for any other extension (or none). Returns the files written.
pub fn write_figure(svg: &str, path: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let targets: Vec<PathBuf> = match ext.as_deref() {
        Some("svg") | Some("png") => vec![path.to_path_buf()],
        _ => vec![path.with_extension("svg"), path.with_extension("png")],
    };
    for t in &targets {
        let bytes = if t.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            png_bytes(svg, 2.0, t)?
        } else {
            svg.as_bytes().to_vec()
        };
        critlab_core::files::write_atomic_bytes(t, &bytes)
            .map_err(|source| ReportError::Io { path: t.clone(), source })?;
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" font-family="Helvetica, sans-serif"><rect width="40" height="20" fill="white"/><text x="2" y="15" font-size="14" fill="#000">Ag</text></svg>"##;

    #[test]
    fn png_has_the_scaled_size_and_text_is_drawn() {
        let png = png_bytes(SVG, 2.0, Path::new("t.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let (w, h) =
            (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
        assert_eq!((w, h), (80, 40));
        // With the embedded font the text leaves dark pixels; without a font it would not.
        let blank = png_bytes(&SVG.replace("Ag", ""), 2.0, Path::new("t.png")).unwrap();
        assert_ne!(png, blank);
    }

    #[test]
    fn writes_both_formats_for_a_bare_name_and_rejects_bad_svg() {
        let dir = std::env::temp_dir().join(format!("critlab-report-{}", std::process::id()));
        let written = write_figure(SVG, &dir.join("fig")).unwrap();
        assert_eq!(written.len(), 2);
        assert!(written.iter().all(|p| p.exists()));
        let err = write_figure("<svg", &dir.join("bad.png")).unwrap_err().to_string();
        assert!(err.contains("bad.png"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
