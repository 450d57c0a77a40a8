//! perfguide: a static-site generator whose chapters run, measure and profile code at build
//! time. See ARCHITECTURE.md for the pipeline; each stage is one module here.

pub mod bench;
pub mod book;
pub mod build;
pub mod claim;
pub mod cli;
pub mod config;
pub mod diag;
pub mod directive;
pub mod fingerprint;
pub mod fragments;
pub mod harness;
pub mod highlight;
pub mod include;
pub mod links;
pub mod machine;
pub mod measure;
pub mod nav;
pub mod output;
pub mod plan;
pub mod pyenv;
pub mod python;
pub mod render;
pub mod run;
pub mod scan;
pub mod search;
pub mod serve;
pub mod stats;
pub mod store;
pub mod summary;
pub mod template;
pub mod testkernels;
pub mod worker;
