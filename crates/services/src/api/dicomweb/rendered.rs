//! Rendered frames and thumbnails (WADO-RS "rendered" and "thumbnail" resources): a frame
//! through the same grey pipeline as the viewer (modality LUT, the file's window or
//! `window=center,width`), fitted into `viewport=columns,rows` or a thumbnail's 128 pixels,
//! as JPEG (default) or PNG (`Accept: image/png`). A study's or series' thumbnail is its
//! middle instance.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::wado::{Pick, Resource, accepted, failed, frame_list, instance_files, off_the_runtime};
use super::{ApiError, ApiState};

/// Largest edge of a thumbnail, in pixels.
const THUMBNAIL_EDGE: u32 = 128;

/// Query parameters of rendered resources.
#[derive(Deserialize, Default)]
pub(in crate::api) struct Rendering {
    /// `center,width[,function]`.
    window: Option<String>,
    /// `columns,rows`: fit inside.
    viewport: Option<String>,
    /// JPEG quality 1–100.
    quality: Option<u8>,
}

fn pair_of<T: std::str::FromStr>(text: &str) -> Option<(T, T)> {
    let mut parts = text.split(',');
    let a = parts.next()?.trim().parse().ok()?;
    let b = parts.next()?.trim().parse().ok()?;
    Some((a, b))
}

/// Scales an image down (box average) to fit `max_columns`×`max_rows`; never up.
fn fit_inside(
    image: crate::imaging::RenderedImage,
    max_columns: u32,
    max_rows: u32,
) -> crate::imaging::RenderedImage {
    let scale = f64::min(
        f64::from(max_columns.max(1)) / f64::from(image.columns.max(1)),
        f64::from(max_rows.max(1)) / f64::from(image.rows.max(1)),
    );
    if scale >= 1.0 {
        return image;
    }
    let columns = ((f64::from(image.columns) * scale).round() as u32).max(1);
    let rows = ((f64::from(image.rows) * scale).round() as u32).max(1);
    let channels = usize::from(image.channels);
    let mut pixels = Vec::with_capacity(columns as usize * rows as usize * channels);
    for y in 0..rows {
        let y0 = (u64::from(y) * u64::from(image.rows) / u64::from(rows)) as usize;
        let y1 =
            ((u64::from(y + 1) * u64::from(image.rows) / u64::from(rows)) as usize).max(y0 + 1);
        for x in 0..columns {
            let x0 = (u64::from(x) * u64::from(image.columns) / u64::from(columns)) as usize;
            let x1 = ((u64::from(x + 1) * u64::from(image.columns) / u64::from(columns)) as usize)
                .max(x0 + 1);
            for c in 0..channels {
                let mut sum = 0u64;
                let mut n = 0u64;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        let at = (yy * image.columns as usize + xx) * channels + c;
                        sum += u64::from(image.pixels.get(at).copied().unwrap_or(0));
                        n += 1;
                    }
                }
                pixels.push((sum / n.max(1)) as u8);
            }
        }
    }
    crate::imaging::RenderedImage {
        columns,
        rows,
        channels: image.channels,
        pixels,
    }
}

/// Renders frame `index` (from 0) of an instance and encodes it as the client accepts.
fn render(
    bytes: &[u8],
    index: u32,
    rendering: &Rendering,
    headers: &HeaderMap,
    edge: Option<u32>,
) -> Result<(&'static str, Vec<u8>), ApiError> {
    let unreadable = |e: String| {
        ApiError(
            StatusCode::NOT_ACCEPTABLE,
            format!("this instance cannot be rendered: {e}"),
        )
    };
    let window = match &rendering.window {
        None => None,
        Some(text) => {
            let (center, width) = pair_of::<f64>(text)
                .filter(|(c, w)| c.is_finite() && *w >= 1.0)
                .ok_or_else(|| {
                    ApiError(
                        StatusCode::BAD_REQUEST,
                        format!("window is center,width (width ≥ 1), not {text:?}"),
                    )
                })?;
            Some(crate::imaging::Window { center, width })
        }
    };
    let file = crate::imaging::frame::ImageFile::from_bytes(bytes, "instance")
        .map_err(|e| unreadable(e.to_string()))?;
    if index >= file.number_of_frames() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("frame {} of {}", index + 1, file.number_of_frames()),
        ));
    }
    let frame = file.frame(index).map_err(|e| unreadable(e.to_string()))?;
    let mut image = crate::imaging::render_cpu(
        &frame,
        &crate::imaging::RenderOptions {
            window,
            overlays: false,
        },
    );
    if let Some(edge) = edge {
        image = fit_inside(image, edge, edge);
    }
    if let Some((columns, rows)) = rendering.viewport.as_deref().and_then(pair_of::<u32>) {
        image = fit_inside(image, columns, rows);
    }
    let ranges = accepted(headers);
    let png = ranges.iter().any(|r| r.kind == "image/png")
        && !ranges.iter().any(|r| r.kind == "image/jpeg");
    if png {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, image.columns, image.rows);
        encoder.set_color(if image.channels == 3 {
            png::ColorType::Rgb
        } else {
            png::ColorType::Grayscale
        });
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(&image.pixels))
            .map_err(|e| failed("a PNG could not be written", e))?;
        return Ok(("image/png", out));
    }
    let (Ok(columns), Ok(rows)) = (u16::try_from(image.columns), u16::try_from(image.rows)) else {
        return Err(ApiError(
            StatusCode::NOT_ACCEPTABLE,
            "the image is too large for JPEG; ask for image/png".into(),
        ));
    };
    let mut out = Vec::new();
    let encoder =
        jpeg_encoder::Encoder::new(&mut out, rendering.quality.unwrap_or(90).clamp(1, 100));
    let colour = if image.channels == 3 {
        jpeg_encoder::ColorType::Rgb
    } else {
        jpeg_encoder::ColorType::Luma
    };
    encoder
        .encode(&image.pixels, columns, rows, colour)
        .map_err(|e| failed("a JPEG could not be written", e))?;
    Ok(("image/jpeg", out))
}

/// `GET …/instances/{instance}/rendered` and `…/frames/{frame}/rendered`: one frame, as
/// large as it is (or fitted into `viewport=`).
pub(in crate::api) async fn rendered(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<HashMap<String, String>>,
    Query(rendering): Query<Rendering>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let index = match path.get("frame") {
        None => 0,
        Some(frame) => match frame_list(frame)?.as_slice() {
            [one] => *one - 1,
            _ => {
                return Err(ApiError(
                    StatusCode::BAD_REQUEST,
                    "one frame is rendered at a time".into(),
                ));
            }
        },
    };
    let origin = peer.ip().to_string();
    let resource = Resource::of(&path);
    rendered_response(
        state,
        origin,
        headers,
        resource,
        index,
        rendering,
        Pick::All,
    )
    .await
}

/// `GET …/thumbnail` of a study, a series (their middle instance) or an instance.
pub(in crate::api) async fn thumbnail(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(path): Path<HashMap<String, String>>,
    Query(rendering): Query<Rendering>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let origin = peer.ip().to_string();
    let resource = Resource::of(&path);
    rendered_response(state, origin, headers, resource, 0, rendering, Pick::Middle).await
}

/// Frame `frame` of the instance `resource` names (its middle one with [`Pick::Middle`],
/// then fitted into a thumbnail).
async fn rendered_response(
    state: ApiState,
    origin: String,
    headers: HeaderMap,
    resource: Resource,
    frame: u32,
    rendering: Rendering,
    pick: Pick,
) -> Result<Response, ApiError> {
    let Resource { conditions, what } = resource;
    let files = instance_files(&state, origin, headers.clone(), conditions, what, pick).await?;
    let (kind, body) = off_the_runtime(move || {
        let (_, bytes) = files
            .first()
            .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no instance".into()))?;
        let edge = (pick == Pick::Middle).then_some(THUMBNAIL_EDGE);
        render(bytes, frame, &rendering, &headers, edge)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thumbnail_is_a_box_average_that_keeps_the_aspect() {
        let image = crate::imaging::RenderedImage {
            columns: 4,
            rows: 2,
            channels: 1,
            pixels: vec![0, 100, 200, 200, 0, 100, 200, 200],
        };
        let small = fit_inside(image, 2, 2);
        assert_eq!((small.columns, small.rows), (2, 1));
        assert_eq!(small.pixels, vec![50, 200]);
    }
}
