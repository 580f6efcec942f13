//! Renders a [`Document`] as Markdown (CommonMark with GFM tables): the same content as the HTML
//! page, with each figure written as its own SVG file beside it and linked.

use super::document::{Block, Document, Field, FieldValue, Table, PERSON_MARK};

/// The Markdown text of `document`.
pub fn render(document: &Document) -> String {
    let mut out = format!("# {}\n\n", escape(&document.title));
    for section in document.sections.iter().filter(|s| s.level == 2) {
        out.push_str(&format!("- [{}](#{})\n", escape(&section.title), section.id));
    }
    out.push('\n');
    for section in &document.sections {
        let hashes = "#".repeat(usize::from(section.level.clamp(2, 4)));
        out.push_str(&format!(
            "<a id=\"{}\"></a>\n{hashes} {}\n\n",
            section.id,
            escape(&section.title)
        ));
        for block in &section.blocks {
            block_md(block, &mut out);
        }
    }
    out
}

fn block_md(block: &Block, out: &mut String) {
    match block {
        Block::Text(text) => out.push_str(&format!("{}\n\n", escape(text))),
        Block::Alert(text) => out.push_str(&format!("> **{}**\n\n", escape(text))),
        Block::List(items) => {
            for item in items {
                out.push_str(&format!("- {}\n", escape(item)));
            }
            out.push('\n');
        }
        Block::Fields(fields) => fields_md(fields, out),
        Block::Table(table) => table_md(table, out),
        Block::Figure(figure) => out.push_str(&format!(
            "![{}]({})\n\n*{}*\n\n",
            escape(&figure.caption),
            figure.file,
            escape(&figure.caption)
        )),
    }
}

fn fields_md(fields: &[Field], out: &mut String) {
    for field in fields {
        let value = match &field.value {
            FieldValue::Known(text) => escape(text),
            FieldValue::Person(prompt) => format!("**[{PERSON_MARK}]** {}", escape(prompt)),
        };
        out.push_str(&format!("- **{}:** {value}\n", escape(&field.label)));
    }
    out.push('\n');
}

fn table_md(table: &Table, out: &mut String) {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&row(&table.header));
    out.push_str(&format!("|{}\n", " --- |".repeat(table.header.len())));
    for cells in &table.rows {
        out.push_str(&row(cells));
    }
    out.push('\n');
}

fn cell(text: &str) -> String {
    escape(text).replace('\n', " ")
}

/// Escapes the characters Markdown would otherwise read as markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
