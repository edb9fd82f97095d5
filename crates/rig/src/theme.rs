//! Grafana's dark theme colours, the one table the HTML report draws with: a threshold
//! step's colour name as `createTheme().visualization.getColorByName` of
//! `@grafana/data` turns it into CSS, the classic palette time series take their
//! colours from in order, and the page's own greys.
//!
//! `tests/integration/grafana_data.rs` checks every name here against `@grafana/data`.

use super::threshold::FALLBACK_COLOR;

/// Every named colour of the dark theme's hues (`visualization.hues`), with its CSS.
pub const NAMED: &[(&str, &str)] = &[
    ("super-light-red", "#FFA6B0"),
    ("light-red", "#FF7383"),
    ("red", "#F2495C"),
    ("semi-dark-red", "#E02F44"),
    ("dark-red", "#C4162A"),
    ("super-light-orange", "#FFCB7D"),
    ("light-orange", "#FFB357"),
    ("orange", "#FF9830"),
    ("semi-dark-orange", "#FF780A"),
    ("dark-orange", "#FA6400"),
    ("super-light-yellow", "#FFF899"),
    ("light-yellow", "#FFEE52"),
    ("yellow", "#FADE2A"),
    ("semi-dark-yellow", "#F2CC0C"),
    ("dark-yellow", "#E0B400"),
    ("super-light-green", "#C8F2C2"),
    ("light-green", "#96D98D"),
    ("green", "#73BF69"),
    ("semi-dark-green", "#56A64B"),
    ("dark-green", "#37872D"),
    ("super-light-blue", "#C0D8FF"),
    ("light-blue", "#8AB8FF"),
    ("blue", "#5794F2"),
    ("semi-dark-blue", "#3274D9"),
    ("dark-blue", "#1F60C4"),
    ("super-light-purple", "#DEB6F2"),
    ("light-purple", "#CA95E5"),
    ("purple", "#B877D9"),
    ("semi-dark-purple", "#A352CC"),
    ("dark-purple", "#8F3BB8"),
    ("transparent", "rgba(0,0,0,0)"),
    ("panel-bg", PANEL),
    ("text", TEXT),
];

/// The start of the classic palette (`visualization.palette`), which colours a time
/// series' lines by their order; it repeats past its end here.
pub const PALETTE: &[&str] = &[
    "green",
    "semi-dark-yellow",
    "blue",
    "orange",
    "red",
    "purple",
    "dark-green",
    "dark-yellow",
    "dark-blue",
    "dark-orange",
    "dark-red",
    "dark-purple",
    "super-light-green",
    "super-light-yellow",
    "super-light-blue",
    "super-light-orange",
    "super-light-red",
    "super-light-purple",
];

/// A panel's background (`colors.background.primary`).
pub const PANEL: &str = "#181b1f";
/// The dashboard's background (`colors.background.canvas`).
pub const CANVAS: &str = "#111217";
/// Text (`colors.text.primary`).
pub const TEXT: &str = "rgb(204, 204, 220)";
/// Secondary text (`colors.text.secondary`).
pub const TEXT_SECONDARY: &str = "rgba(204, 204, 220, 0.65)";
/// Weak borders (`colors.border.weak`).
pub const BORDER: &str = "rgba(204, 204, 220, 0.12)";

/// A colour name as CSS, as `getColorByName` gives it: the theme's colour for its
/// names, a `#…` or `rgb…` colour as it is, Grafana's fallback grey for none. Any
/// other name is kept (Grafana turns CSS colour names into their hex; browsers read
/// the names alike) when it is a plain word, else it is the fallback grey, so that no
/// dashboard text ends up as anything but a colour in a style.
pub fn css(name: &str) -> String {
    if name.is_empty() {
        return FALLBACK_COLOR.to_owned();
    }
    if let Some((_, css)) = NAMED.iter().find(|(n, _)| *n == name) {
        return (*css).to_owned();
    }
    let plain = name.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, '#' | '(' | ')' | ',' | '.' | '%' | ' ' | '-')
    });
    let is_colour = name.starts_with('#') || name.contains("rgb") || name.contains("hsl");
    if plain && (is_colour || name.chars().all(|c| c.is_ascii_alphabetic())) {
        name.to_owned()
    } else {
        FALLBACK_COLOR.to_owned()
    }
}

/// The CSS colour of the `index`-th series of a time series panel.
pub fn series(index: usize) -> String {
    css(PALETTE[index % PALETTE.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hex_and_fallbacks() {
        assert_eq!(css("green"), "#73BF69");
        assert_eq!(css("dark-red"), "#C4162A");
        assert_eq!(css("#abc"), "#abc");
        assert_eq!(css("rgba(1, 2, 3, 0.5)"), "rgba(1, 2, 3, 0.5)");
        assert_eq!(css(""), FALLBACK_COLOR);
        assert_eq!(css("aqua"), "aqua");
        assert_eq!(css("red;background:url(http://x)"), FALLBACK_COLOR);
        assert_eq!(css("\"><script>"), FALLBACK_COLOR);
        assert_eq!(series(0), "#73BF69");
        assert_eq!(series(PALETTE.len() + 2), "#5794F2");
    }
}
