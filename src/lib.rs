//! perfguide: a static-site generator whose chapters run, measure and profile code at build
//! time. See ARCHITECTURE.md for the pipeline; each stage is one module here.

pub mod cli;
