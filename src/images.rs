//! The fractal images the build computes: `{{#chart image mandelbrot}}` shows the escape
//! counts of a fractal variant (the scalar one unless named) as a PNG.
//!
//! The image comes from a worker process like any kernel run, and only after the variant's
//! result passed its check, so the picture on the page is the checked result. It is stored
//! in the measurement store (`images/`, with its metadata in TOML) with a key like a
//! record's and copied into the site by the renderer.

use std::collections::BTreeSet;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use perfguide_kernels::mandelbrot::MAX_ITER;
use perfguide_kernels::{Outcome, Problem};
use serde::{Deserialize, Serialize};

use crate::measure::{KeyContext, MeasureOptions};
use crate::profile::write_atomically;
use crate::store::{self, RecordId};
use crate::worker::{self, Input, Mode, ProblemSpec, Request, WorkerError};

/// Version of the image format (palette, metadata); bump it to redraw every image.
pub const SCHEMA: u32 = 1;

/// What the worker reports, and what is stored beside the PNG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageInfo {
    pub schema: u32,
    /// `kernel/variant` that computed the counts.
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub max_iter: u32,
    /// The check's verdict on the counts shown.
    pub check: String,
    pub key: String,
    pub measured_at: String,
}

/// An image a chapter needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageNeed {
    pub id: String,
    pub problem: ProblemSpec,
}

impl ImageNeed {
    fn record(&self) -> RecordId {
        RecordId {
            id: self.id.clone(),
            threads: 1,
            problem: self.problem,
        }
    }

    /// The file name stem: `mandelbrot-scalar`.
    pub fn stem(&self) -> String {
        self.id.replace('/', "-")
    }
}

/// Resolves the argument of `{{#chart image ARG}}`: a kernel (its `scalar` variant) or a
/// `kernel/variant`, at the kernel's default problem.
pub fn need_of(arg: &str) -> Result<ImageNeed, String> {
    let kernel_name = arg.split('/').next().unwrap_or(arg);
    if !FRACTALS.contains(&kernel_name) {
        return Err(format!(
            "'{kernel_name}' computes no image; images exist for {}",
            FRACTALS.join(" and ")
        ));
    }
    let id = if arg.contains('/') {
        arg.to_string()
    } else {
        format!("{arg}/scalar")
    };
    let (kernel, _) =
        worker::find(&id).ok_or_else(|| format!("'{id}' is not a variant of {kernel_name}"))?;
    Ok(ImageNeed {
        id,
        problem: kernel.default_problem.into(),
    })
}

/// The kernels whose outcome is an image.
const FRACTALS: &[&str] = &["mandelbrot", "julia"];

/// Paths of an image's PNG and metadata in the store.
pub fn paths(store_dir: &Path, need: &ImageNeed) -> (PathBuf, PathBuf) {
    let dir = store_dir.join("images");
    let stem = format!("{}-n{}-m{}", need.stem(), need.problem.n, need.problem.m);
    (
        dir.join(format!("{stem}.png")),
        dir.join(format!("{stem}.toml")),
    )
}

/// The stored image: its metadata and PNG bytes.
pub fn load(store_dir: &Path, need: &ImageNeed) -> Option<(ImageInfo, Vec<u8>)> {
    let (png, meta) = paths(store_dir, need);
    let info: ImageInfo = toml::from_str(&std::fs::read_to_string(meta).ok()?).ok()?;
    let bytes = std::fs::read(png).ok()?;
    (info.schema == SCHEMA).then_some((info, bytes))
}

fn key(keys: &KeyContext, need: &ImageNeed) -> Option<String> {
    let base = keys.key(&need.record())?;
    Some(store::key_of(&[&base, "image", &SCHEMA.to_string()]))
}

/// The image stage: computes every needed image that is missing or stale.
pub fn run(
    needs: &BTreeSet<ImageNeed>,
    store_dir: &Path,
    keys: &KeyContext,
    options: &MeasureOptions,
) -> Result<()> {
    for need in needs {
        let key = key(keys, need).with_context(|| format!("unknown kernel variant {}", need.id))?;
        let requested = options
            .remeasure
            .iter()
            .any(|f| crate::measure::matches_filter(&need.id, f));
        if !requested && load(store_dir, need).is_some_and(|(i, _)| i.key == key) {
            continue;
        }
        if options.frozen {
            bail!(
                "--frozen: the image of {} is missing or stale\nhelp: run `perfguide build` without --frozen to compute it",
                need.id
            );
        }
        eprintln!("computing the image of {}", need.id);
        let (png, meta) = paths(store_dir, need);
        let tmp_dir = tempfile::tempdir().context("creating a temporary folder")?;
        let tmp_png = tmp_dir.path().join("image.png");
        let input = Input {
            request: Request {
                id: need.id.clone(),
                problem: need.problem,
                threads: 1,
                plan: crate::harness::Plan::quick(0.1),
                memory_probe: false,
            },
            mode: Mode::Image {
                path: tmp_png.clone(),
            },
        };
        let out = crate::profile::spawn_worker(
            &need.id,
            &[],
            &input,
            options.timeout + Duration::from_secs(5),
        )?;
        let mut info: ImageInfo = serde_json::from_str(out.trim())
            .with_context(|| format!("{}: unreadable answer from the worker", need.id))?;
        info.key = key;
        info.measured_at = store::now_iso8601();
        let bytes = std::fs::read(&tmp_png)
            .with_context(|| format!("{}: the worker wrote no image", need.id))?;
        write_atomically(&png, &bytes)?;
        write_atomically(
            &meta,
            toml::to_string(&info)
                .context("serializing image metadata")?
                .as_bytes(),
        )?;
    }
    Ok(())
}

/// Runs in `perfguide __worker`: computes the variant's counts, checks them, and writes the
/// PNG to `path`.
pub fn image_in_worker(request: &Request, path: &Path) -> Result<ImageInfo, WorkerError> {
    let (kernel, variant) = worker::find(&request.id).ok_or_else(|| {
        WorkerError::BadRequest(format!("worker: unknown kernel variant '{}'", request.id))
    })?;
    let problem: Problem = request.problem.into();
    let outcome = (variant.run)(&problem, 1);
    let check = (kernel.check)(&problem, &request.id, &outcome)
        .map_err(|e| WorkerError::WrongResult(e.to_string()))?;
    let Outcome::Fractal { counts, .. } = &outcome else {
        return Err(WorkerError::BadRequest(format!(
            "{} computes no image",
            request.id
        )));
    };
    let (width, height) = (problem.n as u32, problem.m as u32);
    let bytes = encode_png(counts, width, height, MAX_ITER)
        .map_err(|e| WorkerError::BadRequest(format!("worker: encoding the image: {e}")))?;
    std::fs::write(path, bytes)
        .map_err(|e| WorkerError::BadRequest(format!("worker: writing {}: {e}", path.display())))?;
    Ok(ImageInfo {
        schema: SCHEMA,
        id: request.id.clone(),
        width,
        height,
        max_iter: MAX_ITER,
        check: check.summary,
        key: String::new(),
        measured_at: String::new(),
    })
}

/// Colour stops of the palette, position in [0, 1] and sRGB: deep blue for pixels that
/// escape at once, through white to gold near the set, black for the set itself. The image
/// has its own dark and light parts, so it reads on both page themes.
const STOPS: [(f64, [u8; 3]); 5] = [
    (0.0, [0, 7, 100]),
    (0.16, [32, 107, 203]),
    (0.42, [237, 255, 255]),
    (0.6425, [255, 170, 0]),
    (1.0, [90, 30, 0]),
];

/// The colour of an escape count: interior (`max_iter`) is black; others follow [`STOPS`] by
/// `ln(1 + n) / ln(1 + max_iter)`, since most pixels escape within a few iterations.
pub fn colour(n: u32, max_iter: u32) -> [u8; 3] {
    if n >= max_iter {
        return [0, 0, 0];
    }
    let t = (1.0 + n as f64).ln() / (1.0 + max_iter as f64).ln();
    for pair in STOPS.windows(2) {
        let ((t0, c0), (t1, c1)) = (pair[0], pair[1]);
        if t <= t1 {
            let f = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
            return std::array::from_fn(|i| {
                (c0[i] as f64 + f * (c1[i] as f64 - c0[i] as f64)).round() as u8
            });
        }
    }
    STOPS[STOPS.len() - 1].1
}

/// Row-major escape counts as an 8-bit RGB PNG.
pub fn encode_png(counts: &[u32], width: u32, height: u32, max_iter: u32) -> Result<Vec<u8>> {
    if counts.len() != (width as usize) * (height as usize) {
        bail!("{} counts for a {width} x {height} image", counts.len());
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(BufWriter::new(&mut out), width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header()?;
        let data: Vec<u8> = counts.iter().flat_map(|&n| colour(n, max_iter)).collect();
        writer.write_image_data(&data)?;
        writer.finish()?;
    }
    Ok(out)
}

/// The figure for a page: the image (a site file added by the renderer) and a caption.
pub fn figure_html(info: &ImageInfo, src: &str) -> String {
    use crate::render::escape_html;
    let what = if info.id.starts_with("julia/") {
        "The Julia set of c = −0.8 + 0.156i"
    } else {
        "The Mandelbrot set"
    };
    format!(
        "<figure class=\"fractal\" id=\"image-{stem}\">\n<img src=\"{src}\" width=\"{w}\" height=\"{h}\" loading=\"lazy\" alt=\"{alt}\">\n<figcaption>{what}, computed by this build: the escape counts of <code>{id}</code>, {w} × {h} pixels, at most {max} iterations ({check}). Blue pixels escape within a few iterations, white and gold ones only near the set; black pixels never escaped.</figcaption>\n</figure>\n",
        stem = escape_html(&info.id.replace('/', "-")),
        src = escape_html(src),
        w = info.width,
        h = info.height,
        alt = escape_html(&format!(
            "{what} in {w} by {h} pixels: colour shows how many iterations each point took to escape",
            w = info.width,
            h = info.height
        )),
        id = escape_html(&info.id),
        max = info.max_iter,
        check = escape_html(&info.check),
    )
}

/// Files a fragment adds to the site: site-relative path and bytes.
pub type SiteFileList = Vec<(String, Vec<u8>)>;

/// Renders `{{#chart image ARG}}`: the figure, and the PNG as a site file to add.
pub fn render_directive(
    store_dir: &Path,
    arg: &str,
    page_path: &str,
) -> Result<(crate::directive::Fragment, SiteFileList), String> {
    let need = need_of(arg)?;
    let (info, bytes) = load(store_dir, &need).ok_or_else(|| {
        format!(
            "the image of {} has not been computed; run `perfguide build` (not --frozen)",
            need.id
        )
    })?;
    let site_path = format!("images/{}.png", need.stem());
    let html = figure_html(
        &info,
        &format!("{}{site_path}", crate::profile::root_prefix(page_path)),
    );
    Ok((
        crate::directive::Fragment {
            html,
            text: format!("(image of {})", need.id),
        },
        vec![(site_path, bytes)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_ends() {
        assert_eq!(colour(256, 256), [0, 0, 0]);
        assert_eq!(colour(0, 256), [0, 7, 100]);
        assert_ne!(colour(20, 256), colour(21, 256));
    }

    #[test]
    fn png_round_trips() {
        let counts: Vec<u32> = (0..12).map(|i| i * 20).collect();
        let bytes = encode_png(&counts, 4, 3, 256).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (4, 3));
        assert_eq!(&buf[..3], &colour(0, 256));
        assert!(encode_png(&counts, 5, 3, 256).is_err());
    }

    #[test]
    fn needs_resolve_to_the_scalar_variant() {
        assert_eq!(need_of("mandelbrot").unwrap().id, "mandelbrot/scalar");
        assert_eq!(need_of("julia/simd").unwrap().id, "julia/simd");
        assert!(need_of("kmeans").unwrap_err().contains("no image"));
        assert!(need_of("nope").is_err());
    }
}
