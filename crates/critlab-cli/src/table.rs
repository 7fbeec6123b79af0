//! Plain-text tables for the terminal.

/// Renders rows under a header with columns padded to their widest cell; numeric-looking
/// cells are right-aligned.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                // Padded by hand: a format width above 65535 panics, and a cell may be longer
                // (a stored sweep name, say).
                let pad = " ".repeat(w.saturating_sub(c.chars().count()));
                if c.parse::<f64>().is_ok() {
                    format!("{pad}{c}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// A number with 4 significant digits, or "-" when absent or not finite.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) {
                format!("{x:.3e}")
            } else {
                let s = format!("{x:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a 65,536-character sweep name made `runs list` panic in `format!`.
    #[test]
    fn cells_wider_than_a_format_width_render() {
        let long = "n".repeat(70_000);
        let out = render(&["id", "sweep"], &[vec!["1".into(), long.clone()], vec!["22".into(), "s".into()]]);
        assert!(out.contains(&long));
        assert_eq!(out.lines().nth(3).unwrap(), "22  s");
        assert_eq!(out.lines().next().unwrap().trim_end(), format!("id  sweep"));
    }
}
