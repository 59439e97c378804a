//! A whole series on the GPU: its slices as layers of texture arrays (split across arrays when
//! the adapter allows fewer layers), each drawn through the same pipeline as a single frame.

use super::*;

/// What differs from slice to slice of a series on the GPU: the stored-value offset of its
/// layer, its rescale and inversion, and the window the file asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct LayerParams {
    pub(super) stored_offset: f32,
    pub(super) slope: f32,
    pub(super) intercept: f32,
    pub(super) invert: bool,
    /// The window the file asks for (none for colour, shown as is).
    pub(super) file_voi: Option<(crate::Window, VoiFunction)>,
}

/// A series resident on the GPU: its slices as layers of 16-bit (grey) or RGBA (colour clip)
/// texture arrays, as many arrays as the adapter's layer limit needs (a 1,000-slice CT on an adapter allowing
/// 256 layers is four arrays). Slices are uploaded one by one as they are decoded; drawing a
/// slice is a uniform write and a draw.
pub struct GpuSeries {
    pub(super) columns: u32,
    pub(super) rows: u32,
    pub(super) layers_per_texture: u32,
    pub(super) bind_groups: Vec<wgpu::BindGroup>,
    pub(super) textures: Vec<wgpu::Texture>,
    pub(super) uniform: wgpu::Buffer,
    pub(super) target: Target,
    pub(super) layers: Vec<Option<LayerParams>>,
    /// The user's Invert, on top of each slice's own.
    pub(super) user_invert: bool,
    /// RGBA frames (a colour clip) rather than 16-bit greys.
    pub(super) colour: bool,
}

/// Why a slice cannot join a series on the GPU (it is then shown frame by frame).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerRefused {
    /// A colour frame in a greyscale series.
    #[error("a colour frame is not kept in a greyscale series")]
    Colour,
    /// A greyscale frame in a colour clip.
    #[error("a greyscale frame is not kept in a colour clip")]
    Grey,
    /// The slice's size differs from the series'.
    #[error("a {columns}×{rows} slice in a series of another size")]
    Size {
        /// Its columns.
        columns: u32,
        /// Its rows.
        rows: u32,
    },
    /// Modality and VOI LUT tables are per frame.
    #[error("a slice with a lookup table is drawn on its own")]
    Table,
    /// The stored values do not fit a 16-bit texture.
    #[error("stored values span more than 16 bits")]
    Range,
    /// Past the series' layer count.
    #[error("layer {0} is past the end of the series")]
    Layer(usize),
}

impl GpuSeries {
    /// Slices in the series (loaded or not).
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the series has no slices (never: [`GpuRenderer::series`] refuses that).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Slices uploaded so far.
    pub fn loaded(&self) -> usize {
        self.layers.iter().filter(|l| l.is_some()).count()
    }

    /// Whether slice `index` is on the GPU.
    pub fn is_loaded(&self, index: usize) -> bool {
        self.layers.get(index).is_some_and(|l| l.is_some())
    }

    /// The texture arrays the series is split into.
    pub fn texture_count(&self) -> usize {
        self.textures.len()
    }

    /// GPU memory the series holds: its 16-bit slices and the display target.
    pub fn bytes(&self) -> usize {
        let slice = self.columns as usize * self.rows as usize;
        let texel_bytes = if self.colour { 4 } else { 2 };
        slice * texel_bytes * self.layers.len() + slice * 4
    }

    /// Uploads slice `index` into its layer. Frames the series cannot hold (colour, another
    /// size, lookup tables, more than 16 bits of range) are refused and stay on the per-frame
    /// path.
    pub fn upload_layer(
        &mut self,
        renderer: &GpuRenderer,
        index: usize,
        frame: &DecodedFrame,
    ) -> Result<(), LayerRefused> {
        if index >= self.layers.len() {
            return Err(LayerRefused::Layer(index));
        }
        match (&frame.content, self.colour) {
            (FrameContent::Grey { .. }, true) => return Err(LayerRefused::Grey),
            (FrameContent::Colour { .. }, false) => return Err(LayerRefused::Colour),
            _ => {}
        }
        if (frame.columns, frame.rows) != (self.columns, self.rows) {
            return Err(LayerRefused::Size {
                columns: frame.columns,
                rows: frame.rows,
            });
        }
        let (texels, params): (Vec<u8>, LayerParams) = match (&frame.content, self.colour) {
            (FrameContent::Grey { .. }, true) => return Err(LayerRefused::Grey),
            (FrameContent::Colour { .. }, false) => return Err(LayerRefused::Colour),
            (FrameContent::Colour { rgb }, true) => (
                rgb.chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect(),
                LayerParams {
                    stored_offset: 0.0,
                    slope: 1.0,
                    intercept: 0.0,
                    invert: false,
                    file_voi: None,
                },
            ),
            (FrameContent::Grey { stored, pipeline }, false) => {
                let ModalityTransform::Rescale { slope, intercept } = pipeline.modality else {
                    return Err(LayerRefused::Table);
                };
                let Voi::Window(file_window, file_function) =
                    pipeline.choose_voi(None, stored.as_slice())
                else {
                    return Err(LayerRefused::Table);
                };
                let lo = stored.iter().copied().min().unwrap_or(0);
                let hi = stored.iter().copied().max().unwrap_or(0);
                if i64::from(hi) - i64::from(lo) > 65_535 {
                    return Err(LayerRefused::Range);
                }
                (
                    stored
                        .iter()
                        .flat_map(|s| ((s - lo) as u16).to_le_bytes())
                        .collect(),
                    LayerParams {
                        stored_offset: lo as f32,
                        slope: slope as f32,
                        intercept: intercept as f32,
                        invert: pipeline.invert,
                        file_voi: Some((file_window, file_function)),
                    },
                )
            }
        };
        let per = self.layers_per_texture as usize;
        let Some(texture) = self.textures.get(index / per) else {
            return Err(LayerRefused::Layer(index));
        };
        renderer.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: 0,
                    z: (index % per) as u32,
                },
                aspect: wgpu::TextureAspect::All,
            },
            &texels,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(self.columns * if self.colour { 4 } else { 2 }),
                rows_per_image: Some(self.rows),
            },
            wgpu::Extent3d {
                width: self.columns,
                height: self.rows,
                depth_or_array_layers: 1,
            },
        );
        self.layers[index] = Some(params);
        Ok(())
    }

    /// The uniform and bind group that show slice `index` with `window` (None: the file's own).
    pub(super) fn select(
        &self,
        renderer: &GpuRenderer,
        index: usize,
        window: Option<(crate::Window, VoiFunction)>,
    ) -> Result<(&wgpu::BindGroup, GpuParams), ImagingError> {
        let Some(Some(layer)) = self.layers.get(index) else {
            return Err(gpu_error(format!(
                "slice {index} of the series is not on the GPU"
            )));
        };
        let per = self.layers_per_texture as usize;
        let bind_group = self
            .bind_groups
            .get(index / per)
            .ok_or_else(|| gpu_error(format!("slice {index} has no texture array")))?;
        // A colour frame without a window is shown as is (VOI kind 4).
        let (voi_kind, center, width) = match window.or(layer.file_voi) {
            Some((w, function)) => (function.gpu_code(), w.center as f32, w.width as f32),
            None => (4, 0.0, 0.0),
        };
        let params = GpuParams {
            stored_offset: layer.stored_offset,
            slope: layer.slope,
            intercept: layer.intercept,
            voi_kind,
            center,
            width,
            voi_full_scale: 1.0,
            invert: u32::from(layer.invert != self.user_invert),
            colour: u32::from(self.colour),
            layer: (index % per) as u32,
            image_per_output: [1.0, 1.0],
            ..GpuParams::default()
        };
        renderer
            .queue
            .write_buffer(&self.uniform, 0, &params.bytes());
        Ok((bind_group, params))
    }

    /// Draws slice `index` (a uniform write and a draw) and reads it back.
    pub fn draw(
        &self,
        renderer: &GpuRenderer,
        index: usize,
        window: Option<(crate::Window, VoiFunction)>,
    ) -> Result<RenderedImage, ImagingError> {
        let (bind_group, params) = self.select(renderer, index, window)?;
        renderer.draw_and_read_back(&self.target, bind_group, &params)
    }

    /// Inverts the display of every slice (the user's Invert) from the next draw.
    pub fn set_user_invert(&mut self, invert: bool) {
        self.user_invert = invert;
    }

    /// The commands that draw slice `index` into the target (after its uniform write).
    pub(super) fn encode(
        &self,
        renderer: &GpuRenderer,
        index: usize,
        window: Option<(crate::Window, VoiFunction)>,
    ) -> Result<wgpu::CommandEncoder, ImagingError> {
        let (bind_group, params) = self.select(renderer, index, window)?;
        Ok(renderer.encode_draw(&self.target, bind_group, &params))
    }

    /// Draws slice `index` into the target without waiting (the window shows it from there).
    pub fn draw_on_gpu(
        &self,
        renderer: &GpuRenderer,
        index: usize,
        window: Option<(crate::Window, VoiFunction)>,
    ) -> Result<(), ImagingError> {
        renderer
            .queue
            .submit([self.encode(renderer, index, window)?.finish()]);
        Ok(())
    }

    /// Reads back what the target holds (the last draw).
    pub fn read_back(&self, renderer: &GpuRenderer) -> Result<RenderedImage, ImagingError> {
        renderer.read_back_last_draw(&self.target)
    }

    /// The target as egui samples it.
    pub fn display_view(&self) -> wgpu::TextureView {
        self.target.display_view()
    }

    /// Which target the series draws into.
    pub fn target_id(&self) -> u64 {
        self.target.id
    }

    /// Draws slice `index` and waits for the GPU, without reading back (benchmarks).
    pub fn draw_and_wait(
        &self,
        renderer: &GpuRenderer,
        index: usize,
        window: Option<(crate::Window, VoiFunction)>,
    ) -> Result<(), ImagingError> {
        renderer.submit_and_wait(self.encode(renderer, index, window)?)
    }
}

pub(super) fn set_voi(params: &mut GpuParams, voi: &Voi, tables: &mut Vec<f32>) {
    match voi {
        Voi::Window(w, function) => {
            params.voi_kind = function.gpu_code();
            params.center = w.center as f32;
            params.width = w.width as f32;
        }
        Voi::Table(lut) => {
            params.voi_kind = 3;
            params.voi_len = lut.entries.len() as u32;
            params.voi_first = lut.first_mapped;
            params.voi_full_scale = lut.full_scale() as f32;
            tables.extend(lut.entries.iter().map(|v| f32::from(*v)));
        }
    }
}

impl GpuRenderer {
    /// Makes room on the GPU for a greyscale series of `slices` slices of `columns`×`rows`,
    /// split into texture arrays of at most the adapter's layer limit.
    pub fn series(
        &self,
        columns: u32,
        rows: u32,
        slices: usize,
    ) -> Result<GpuSeries, ImagingError> {
        self.series_split(columns, rows, slices, self.max_array_layers())
    }

    /// Makes room on the GPU for a colour clip (ultrasound cine, secondary capture) of `frames`
    /// frames: 8-bit RGBA texture arrays, so cine plays from the GPU as a stack scrolls.
    pub fn colour_series(
        &self,
        columns: u32,
        rows: u32,
        frames: usize,
    ) -> Result<GpuSeries, ImagingError> {
        self.make_series(columns, rows, frames, self.max_array_layers(), true)
    }

    /// As [`GpuRenderer::series`], with at most `layers_per_texture` layers per array (tests
    /// use a small number to exercise the split).
    pub fn series_split(
        &self,
        columns: u32,
        rows: u32,
        slices: usize,
        layers_per_texture: u32,
    ) -> Result<GpuSeries, ImagingError> {
        self.make_series(columns, rows, slices, layers_per_texture, false)
    }

    pub(super) fn make_series(
        &self,
        columns: u32,
        rows: u32,
        slices: usize,
        layers_per_texture: u32,
        colour: bool,
    ) -> Result<GpuSeries, ImagingError> {
        let max = self.device.limits().max_texture_dimension_2d;
        if columns > max || rows > max {
            return Err(gpu_error(format!(
                "{columns}×{rows} slices exceed the adapter's {max}-pixel textures"
            )));
        }
        if slices == 0 || columns == 0 || rows == 0 {
            return Err(gpu_error("an empty series"));
        }
        let per = layers_per_texture.clamp(1, self.max_array_layers().max(1));
        let uniform = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("series params"),
            size: GpuParams::default().bytes().len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let tables = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("series tables"),
                contents: &0f32.to_le_bytes(),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let mut textures = Vec::new();
        let mut bind_groups = Vec::new();
        let mut remaining = slices;
        while remaining > 0 {
            let layers = remaining.min(per as usize);
            remaining -= layers;
            let texture = self.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("series"),
                size: wgpu::Extent3d {
                    width: columns,
                    height: rows,
                    depth_or_array_layers: layers as u32,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: if colour {
                    wgpu::TextureFormat::Rgba8Uint
                } else {
                    wgpu::TextureFormat::R16Uint
                },
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            bind_groups.push(self.bind_group(&texture, &uniform, &tables));
            textures.push(texture);
        }
        Ok(GpuSeries {
            columns,
            rows,
            layers_per_texture: per,
            bind_groups,
            textures,
            uniform,
            target: self.target(columns, rows, colour),
            layers: vec![None; slices],
            user_invert: false,
            colour,
        })
    }

    /// The most layers one texture array may have on this adapter.
    pub fn max_array_layers(&self) -> u32 {
        self.device.limits().max_texture_array_layers
    }
}
