//! Integration tests: fixture books built by the real `perfguide` binary.
//!
//! Every test copies a fixture book into a temporary directory ([`BookTest`]), optionally
//! changes files, runs `perfguide build` or `check`, and asserts on the exit status, the
//! messages and the written site.

mod book_test;
mod browser;
mod conformance;
mod errors;
mod measure;
mod output;
mod python;
mod run;
mod serve;
