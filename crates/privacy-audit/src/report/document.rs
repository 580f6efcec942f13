//! The report as data: sections of paragraphs, fields, tables and figures, rendered by
//! [`super::html`] and [`super::markdown`] from the same value, so the two never disagree.

/// A whole document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    /// Its title.
    pub title: String,
    /// Its sections, in order.
    pub sections: Vec<Section>,
}

/// A section (level 2) or subsection (level 3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// An anchor name, unique in the document.
    pub id: String,
    /// The heading.
    pub title: String,
    /// 2 or 3.
    pub level: u8,
    /// The content.
    pub blocks: Vec<Block>,
}

impl Section {
    /// A section of `level` with no content yet.
    pub fn new(id: &str, title: &str, level: u8) -> Self {
        Self { id: id.to_owned(), title: title.to_owned(), level, blocks: Vec::new() }
    }

    /// Adds a block.
    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }

    /// Adds a paragraph.
    pub fn text(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Text(text.into()))
    }
}

/// One piece of content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A paragraph of plain text.
    Text(String),
    /// A highlighted statement (a verification failure, a warning).
    Alert(String),
    /// Labelled values, some of which a person must complete.
    Fields(Vec<Field>),
    /// A bulleted list.
    List(Vec<String>),
    /// A table.
    Table(Table),
    /// An SVG chart.
    Figure(Figure),
}

/// A labelled value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The label.
    pub label: String,
    /// The value.
    pub value: FieldValue,
}

/// What a field holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// Known from the inputs.
    Known(String),
    /// Only a person can answer this: the prompt says what is asked.
    Person(String),
}

impl Field {
    /// A field with a known value.
    pub fn known(label: &str, value: impl Into<String>) -> Self {
        Self { label: label.to_owned(), value: FieldValue::Known(value.into()) }
    }

    /// A field left for a person, with the question asked.
    pub fn person(label: &str, prompt: &str) -> Self {
        Self { label: label.to_owned(), value: FieldValue::Person(prompt.to_owned()) }
    }

    /// A known value when there is one, otherwise a field for a person.
    pub fn known_or_person(label: &str, value: Option<String>, prompt: &str) -> Self {
        match value.filter(|v| !v.trim().is_empty()) {
            Some(value) => Self::known(label, value),
            None => Self::person(label, prompt),
        }
    }
}

/// A table of text cells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Column headings.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headings and no rows.
    pub fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }
}

/// An SVG figure, embedded in HTML and written beside the Markdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The file name the Markdown links to.
    pub file: String,
    /// The caption.
    pub caption: String,
    /// The SVG text.
    pub svg: String,
}

/// The marker of a field a person must complete, the same in every rendering.
pub const PERSON_MARK: &str = "TO BE COMPLETED BY A PERSON";
