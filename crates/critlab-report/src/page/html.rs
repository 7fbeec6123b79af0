//! The page: one self-contained HTML file with the vendored Vega, Vega-Lite and vega-embed,
//! the report's data as JSON, the app script and the printable SVG figures.
use super::data::ReportData;

const TEMPLATE: &str = include_str!("../../assets/page.html");
const CSS: &str = include_str!("../../assets/report.css");
const APP_JS: &str = include_str!("../../assets/report.js");
const VEGA_JS: &str = include_str!("../../vendor/vega.min.js");
const VEGA_LITE_JS: &str = include_str!("../../vendor/vega-lite.min.js");
const VEGA_EMBED_JS: &str = include_str!("../../vendor/vega-embed.min.js");
/// The vendored versions (scripts/vendor-vega.sh pins the same).
pub const VEGA_VERSIONS: [(&str, &str); 3] = [("vega", "6.4.0"), ("vega-lite", "6.4.3"), ("vega-embed", "7.3.0")];

/// Where the page's data comes from after it opened.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// A file: the embedded data is all there is.
    File,
    /// Served by `critlab serve`: the page polls `/api/version` every `poll_ms` and fetches
    /// `/api/data` when `version` changed.
    Live {
        /// The data's version.
        version: String,
        /// Poll interval in milliseconds.
        poll_ms: u64,
    },
}

/// The report's data as JSON, with the live settings, safe inside a `<script>` element: every
/// `<` is written `\u003c` (so no `</script>` or `<!--` can appear), and U+2028/U+2029 escaped.
pub fn data_json(data: &ReportData, mode: &Mode) -> String {
    let mut v = serde_json::to_value(data).unwrap_or_default();
    if let (Some(obj), Mode::Live { version, poll_ms }) = (v.as_object_mut(), mode) {
        obj.insert("live".into(), serde_json::json!({ "version": version, "poll_ms": poll_ms }));
    }
    if let Some(obj) = v.as_object_mut() {
        let colours: Vec<(String, String)> = critlab_physics::phases::Label::all()
            .into_iter()
            .map(|l| (l.as_str().to_string(), crate::plot::phase_diagram::label_style(l).0.to_string()))
            .collect();
        obj.insert("phase_colors".into(), serde_json::json!(colours));
    }
    script_safe(&v.to_string())
}

/// Escapes JSON text for a `<script>` element (see [`data_json`]).
pub fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c").replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029")
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The whole page.
pub fn render(data: &ReportData, mode: &Mode) -> String {
    let figures: String = if data.figures.is_empty() {
        "<p class=\"help\">No static figure: the runs have neither a phase diagram nor a run that generalised.</p>"
            .into()
    } else {
        data.figures
            .iter()
            .map(|f| {
                format!(
                    "<figure data-chart=\"{}\">{}<figcaption>{}</figcaption></figure>\n",
                    escape_html(&f.chart),
                    f.svg,
                    escape_html(&f.caption)
                )
            })
            .collect()
    };
    let live_note = match mode {
        Mode::File => String::new(),
        Mode::Live { .. } => " other than to the critlab server that sent it".into(),
    };
    // Substitute the small fields first and the scripts last, so nothing inside a script
    // or the data can be mistaken for a placeholder.
    TEMPLATE
        .replace("{{TITLE}}", &escape_html(&data.title))
        .replace("{{CSS}}", CSS)
        .replace("{{FIGURES}}", &figures)
        .replace("{{DOWNSAMPLING}}", &escape_html(data.downsampling))
        .replace("{{VEGA}}", VEGA_VERSIONS[0].1)
        .replace("{{VEGA_LITE}}", VEGA_VERSIONS[1].1)
        .replace("{{VEGA_EMBED}}", VEGA_VERSIONS[2].1)
        .replace("{{LIVE_NOTE}}", &live_note)
        .replacen("{{DATA}}", &data_json(data, mode), 1)
        .replacen("{{VEGA_JS}}", VEGA_JS, 1)
        .replacen("{{VEGA_LITE_JS}}", VEGA_LITE_JS, 1)
        .replacen("{{VEGA_EMBED_JS}}", VEGA_EMBED_JS, 1)
        .replacen("{{APP_JS}}", APP_JS, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_embedded_script_can_close_its_element() {
        for (name, js) in
            [("vega", VEGA_JS), ("vega-lite", VEGA_LITE_JS), ("vega-embed", VEGA_EMBED_JS), ("app", APP_JS)]
        {
            let lower = js.to_ascii_lowercase();
            assert!(
                !lower.contains("</script") && !lower.contains("<!--"),
                "{name} contains a sequence that ends a <script> element"
            );
        }
        for (pkg, version) in VEGA_VERSIONS {
            assert!(
                include_str!("../../../../scripts/vendor-vega.sh").contains(&format!("[{pkg}]={version}")),
                "{pkg} {version} is not the version scripts/vendor-vega.sh pins"
            );
        }
    }

    #[test]
    fn json_is_escaped_for_a_script_element() {
        let s = script_safe("{\"a\":\"</script><!-- \u{2028}\"}");
        assert!(!s.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["a"], "</script><!-- \u{2028}");
    }
}
