//! The content format (see `docs/content-format.md`): parsing with validation, and writing back.

mod catalog;
mod error;
mod files;
pub mod images;
mod locate;
pub mod markdown;
mod practice_file;
mod questions;
mod tomlw;
pub mod uploads;

pub use catalog::{
    Catalog, CatalogReader, load_dir, write_dir, write_practice_file, write_shared_files,
};
pub use error::ContentError;
pub use files::{AdoptionDoc, AreaDoc, DistrictDoc, SchoolDoc, TeamDoc};
pub use images::ImagePolicy;
pub use markdown::{Renderer, render_body};
pub use practice_file::{parse_practice, write_practice};
pub use questions::{AnswerDoc, QuestionDoc};
pub use tomlw::number as format_number;
