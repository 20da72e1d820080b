//! Integration tests: the real router over a real temp database, one binary.

mod accessibility;
mod adopt;
mod auth;
mod busy;
mod catalog_check;
mod cli;
mod connections;
mod content_rules;
mod copy;
mod damaged_index;
mod harness;
mod helpers;
mod identity;
mod pages;
mod plc;
mod provider;
mod publish;
mod review;
mod robustness;
mod round_trip;
mod search;
mod search_index;
mod store;
mod xss;
