//! Renders a [`Document`] as one self-contained HTML page: inline CSS, inline SVG, no scripts
//! and nothing fetched from elsewhere, so the file can be mailed, archived and opened offline.

use super::document::{Block, Document, Field, FieldValue, Table, PERSON_MARK};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;\
padding:0 1rem;color:#1b1b1b;line-height:1.45}table{border-collapse:collapse;margin:0.5rem 0 \
1rem}th,td{border:1px solid #bbb;padding:0.2rem 0.5rem;text-align:left;vertical-align:top}\
th{background:#eef}.person{background:#fff3c4;border:1px dashed #b58900;padding:0 0.3rem}\
.alert{background:#fde2e1;border-left:4px solid #c0392b;padding:0.5rem}\
dl.fields{display:grid;grid-template-columns:max-content auto;gap:0.2rem 1rem}\
dt{font-weight:600}figure{margin:1rem 0}nav li{list-style:none}";

/// The HTML page of `document`.
pub fn render(document: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&document.title)));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    out.push_str(&format!("<h1>{}</h1>\n<nav><ul>\n", escape(&document.title)));
    for section in document.sections.iter().filter(|s| s.level == 2) {
        out.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>\n",
            escape(&section.id),
            escape(&section.title)
        ));
    }
    out.push_str("</ul></nav>\n");
    for section in &document.sections {
        let level = section.level.clamp(2, 4);
        out.push_str(&format!(
            "<h{level} id=\"{}\">{}</h{level}>\n",
            escape(&section.id),
            escape(&section.title)
        ));
        for block in &section.blocks {
            block_html(block, &mut out);
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn block_html(block: &Block, out: &mut String) {
    match block {
        Block::Text(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
        Block::Alert(text) => out.push_str(&format!("<p class=\"alert\">{}</p>\n", escape(text))),
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                out.push_str(&format!("<li>{}</li>\n", escape(item)));
            }
            out.push_str("</ul>\n");
        }
        Block::Fields(fields) => fields_html(fields, out),
        Block::Table(table) => table_html(table, out),
        Block::Figure(figure) => out.push_str(&format!(
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            figure.svg.trim(),
            escape(&figure.caption)
        )),
    }
}

fn fields_html(fields: &[Field], out: &mut String) {
    out.push_str("<dl class=\"fields\">\n");
    for field in fields {
        let value = match &field.value {
            FieldValue::Known(text) => escape(text),
            FieldValue::Person(prompt) => format!(
                "<span class=\"person\"><strong>[{PERSON_MARK}]</strong> {}</span>",
                escape(prompt)
            ),
        };
        out.push_str(&format!("<dt>{}</dt><dd>{value}</dd>\n", escape(&field.label)));
    }
    out.push_str("</dl>\n");
}

fn table_html(table: &Table, out: &mut String) {
    out.push_str("<table>\n<thead><tr>");
    for heading in &table.header {
        out.push_str(&format!("<th>{}</th>", escape(heading)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str(&format!("<td>{}</td>", escape(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
