//! The display pipeline on the GPU (`shaders/grey.wgsl`), offscreen: a frame is uploaded once
//! as a 16-bit (grey) or 8-bit RGBA (colour) integer texture, its LUTs as one storage buffer;
//! each render only rewrites the uniform (window, function, view) and draws into a target that
//! is read back. A whole greyscale series can live on the GPU as texture arrays
//! ([`GpuSeries`]): scrolling is then a uniform write (the layer and that slice's rescale),
//! never an upload. Runs on any wgpu adapter, including Mesa's lavapipe where there is no GPU.

use wgpu::util::DeviceExt;

use super::grey::{ModalityTransform, Voi, VoiFunction};
use super::{DecodedFrame, FrameContent, ImagingError, RenderOptions, RenderedImage};

mod series;

use series::set_voi;
pub use series::{GpuSeries, LayerRefused};

const SHADER: &str = include_str!("../../shaders/grey.wgsl");

/// The uniform block of `grey.wgsl` (field order and sizes must match the shader).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GpuParams {
    /// Added to a texel to give the stored value.
    pub stored_offset: f32,
    /// Rescale Slope.
    pub slope: f32,
    /// Rescale Intercept.
    pub intercept: f32,
    /// Entries of the Modality LUT in the table buffer (0: rescale).
    pub modality_len: u32,
    /// First stored value the Modality LUT maps.
    pub modality_first: i32,
    /// 0 LINEAR, 1 LINEAR_EXACT, 2 SIGMOID, 3 VOI LUT table, 4 none.
    pub voi_kind: u32,
    /// Window centre.
    pub center: f32,
    /// Window width.
    pub width: f32,
    /// Entries of the VOI LUT (after the Modality LUT in the table buffer).
    pub voi_len: u32,
    /// First value the VOI LUT maps.
    pub voi_first: i32,
    /// The VOI LUT's full-scale output.
    pub voi_full_scale: f32,
    /// 1 to invert (MONOCHROME1 / INVERSE).
    pub invert: u32,
    /// 1 for a colour frame.
    pub colour: u32,
    /// 1 for bilinear filtering.
    pub bilinear: u32,
    /// The texture-array layer drawn (0 for a single frame).
    pub layer: u32,
    /// Image position of the output's top-left corner, in image pixels.
    pub image_origin: [f32; 2],
    /// Image pixels per output pixel.
    pub image_per_output: [f32; 2],
}

impl GpuParams {
    fn bytes(&self) -> Vec<u8> {
        let words: [u32; 20] = [
            self.stored_offset.to_bits(),
            self.slope.to_bits(),
            self.intercept.to_bits(),
            self.modality_len,
            self.modality_first as u32,
            self.voi_kind,
            self.center.to_bits(),
            self.width.to_bits(),
            self.voi_len,
            self.voi_first as u32,
            self.voi_full_scale.to_bits(),
            self.invert,
            self.colour,
            self.bilinear,
            self.layer,
            0, // padding: the vec2 that follows is 8-byte aligned
            self.image_origin[0].to_bits(),
            self.image_origin[1].to_bits(),
            self.image_per_output[0].to_bits(),
            self.image_per_output[1].to_bits(),
        ];
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

/// A wgpu device with the display pipeline, ready to render frames offscreen.
pub struct GpuRenderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    module: wgpu::ShaderModule,
    pipeline_layout: wgpu::PipelineLayout,
    /// One pipeline per shader variant, built on first use.
    pipelines: std::sync::Mutex<std::collections::HashMap<ShaderVariant, wgpu::RenderPipeline>>,
    layout: wgpu::BindGroupLayout,
    /// The adapter's name, for logs and reports ("llvmpipe" is Mesa's software rasteriser).
    pub adapter_name: String,
}

/// The choices fixed per frame that `grey.wgsl` takes as pipeline constants: each variant's
/// pipeline holds only its own path (a software rasteriser runs every branch of a shader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ShaderVariant {
    colour: bool,
    bilinear: bool,
    voi_kind: u32,
    modality_table: bool,
}

impl ShaderVariant {
    fn of(params: &GpuParams) -> ShaderVariant {
        ShaderVariant {
            colour: params.colour == 1,
            bilinear: params.bilinear == 1,
            voi_kind: params.voi_kind,
            modality_table: params.modality_len > 0,
        }
    }
}

/// Numbers each display target, so a window showing it knows when it was replaced.
static NEXT_TARGET_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What a frame is drawn into (1:1 with the image), shown from and read back from.
struct Target {
    id: u64,
    columns: u32,
    rows: u32,
    colour: bool,
    texture: wgpu::Texture,
    readback: wgpu::Buffer,
    padded_row_bytes: u32,
}

/// A frame resident on the GPU: its texture, tables, uniform and the target it renders into.
pub struct GpuFrame {
    target: Target,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    /// The uniform as last written; window changes start from it.
    pub params: GpuParams,
}

impl GpuFrame {
    /// The target as egui samples it (an Rgba8Unorm view of the display levels).
    pub fn display_view(&self) -> wgpu::TextureView {
        self.target.display_view()
    }

    /// Which target this frame draws into (changes when the frame is replaced).
    pub fn target_id(&self) -> u64 {
        self.target.id
    }
}

impl Target {
    fn display_view(&self) -> wgpu::TextureView {
        self.texture
            .create_view(&wgpu::TextureViewDescriptor::default())
    }
}

fn gpu_error(reason: impl std::fmt::Display) -> ImagingError {
    ImagingError::Gpu {
        reason: reason.to_string(),
    }
}

impl GpuRenderer {
    /// Finds an adapter (any backend, software included) and builds the pipeline.
    pub fn new() -> Result<GpuRenderer, ImagingError> {
        // Vulkan, Metal or DX12 first; OpenGL only where none of them has an adapter (probing
        // GL first logs driver noise on machines without a display).
        let find = |backends: wgpu::Backends| {
            let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
            if std::env::var_os("WGPU_BACKEND").is_none() {
                descriptor.backends = backends;
            }
            let instance = wgpu::Instance::new(descriptor);
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            }))
        };
        let adapter = find(wgpu::Backends::PRIMARY)
            .or_else(|_| find(wgpu::Backends::all()))
            .map_err(|e| gpu_error(format!("no usable GPU adapter: {e}")))?;
        let adapter_name = adapter.get_info().name;
        // The adapter's own texture size and array-layer limits: a series is split by them.
        let mut required_limits =
            wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits());
        required_limits.max_texture_array_layers = adapter.limits().max_texture_array_layers;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("lightbox imaging"),
            required_limits,
            ..Default::default()
        }))
        .map_err(gpu_error)?;
        Ok(GpuRenderer::on_device(device, queue, adapter_name))
    }

    /// A renderer on a device made elsewhere — the window's, so that an image drawn here is
    /// shown by egui straight from its texture (no read back, no second upload). The device's
    /// own limits apply: a series is split by its array-layer limit.
    pub fn on_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        adapter_name: String,
    ) -> GpuRenderer {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("grey.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty,
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("frame"),
            entries: &[
                entry(
                    0,
                    wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Uint,
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                ),
                entry(
                    1,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
                entry(
                    2,
                    wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: true },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                ),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("grey"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let renderer = GpuRenderer {
            device,
            queue,
            module,
            pipeline_layout,
            pipelines: std::sync::Mutex::new(std::collections::HashMap::new()),
            layout,
            adapter_name,
        };
        // Build the variants nearly every study uses now, while the viewer starts, not when
        // the first image is opened: a linear window on rescaled greys (CT, MR, CR, DX) and
        // colour shown as is (US, secondary capture).
        for variant in [
            ShaderVariant {
                colour: false,
                bilinear: false,
                voi_kind: VoiFunction::Linear.gpu_code(),
                modality_table: false,
            },
            ShaderVariant {
                colour: true,
                bilinear: false,
                voi_kind: 4,
                modality_table: false,
            },
        ] {
            renderer.pipeline(variant);
        }
        renderer
    }

    /// The pipeline for one variant of the shader, built the first time it is needed.
    fn pipeline(&self, variant: ShaderVariant) -> wgpu::RenderPipeline {
        // A poisoned lock only means another draw panicked; the map is still whole.
        let mut pipelines = self
            .pipelines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pipelines
            .entry(variant)
            .or_insert_with(|| {
                let flag = |on: bool| if on { 1.0 } else { 0.0 };
                let constants = [
                    ("COLOUR", flag(variant.colour)),
                    ("BILINEAR", flag(variant.bilinear)),
                    ("VOI_KIND", f64::from(variant.voi_kind)),
                    ("MODALITY_TABLE", flag(variant.modality_table)),
                ];
                self.device
                    .create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                        label: Some("grey"),
                        layout: Some(&self.pipeline_layout),
                        vertex: wgpu::VertexState {
                            module: &self.module,
                            entry_point: Some("vs_main"),
                            compilation_options: Default::default(),
                            buffers: &[],
                        },
                        primitive: wgpu::PrimitiveState::default(),
                        depth_stencil: None,
                        multisample: wgpu::MultisampleState::default(),
                        fragment: Some(wgpu::FragmentState {
                            module: &self.module,
                            entry_point: Some("fs_main"),
                            compilation_options: wgpu::PipelineCompilationOptions {
                                constants: &constants,
                                ..Default::default()
                            },
                            targets: &[Some(wgpu::ColorTargetState {
                                format: wgpu::TextureFormat::Rgba8Unorm,
                                blend: None,
                                write_mask: wgpu::ColorWrites::ALL,
                            })],
                        }),
                        multiview_mask: None,
                        cache: None,
                    })
            })
            .clone()
    }

    /// Uploads a frame (once) and prepares a 1:1 render target for it, with the VOI the options
    /// choose.
    pub fn upload(
        &self,
        frame: &DecodedFrame,
        options: &RenderOptions,
    ) -> Result<GpuFrame, ImagingError> {
        let (columns, rows) = (frame.columns, frame.rows);
        let max = self.device.limits().max_texture_dimension_2d;
        if columns > max || rows > max {
            return Err(gpu_error(format!(
                "a {columns}×{rows} frame exceeds the adapter's {max}-pixel textures"
            )));
        }
        let size = wgpu::Extent3d {
            width: columns,
            height: rows,
            depth_or_array_layers: 1,
        };
        let mut params = GpuParams {
            slope: 1.0,
            image_per_output: [1.0, 1.0],
            voi_full_scale: 1.0,
            ..GpuParams::default()
        };
        let mut tables: Vec<f32> = Vec::new();
        let (format, texels): (wgpu::TextureFormat, Vec<u8>) = match &frame.content {
            FrameContent::Grey { stored, pipeline } => {
                let lo = stored.iter().copied().min().unwrap_or(0);
                let hi = stored.iter().copied().max().unwrap_or(0);
                if i64::from(hi) - i64::from(lo) > 65_535 {
                    return Err(gpu_error("stored values span more than 16 bits"));
                }
                params.stored_offset = lo as f32;
                match &pipeline.modality {
                    ModalityTransform::Rescale { slope, intercept } => {
                        params.slope = *slope as f32;
                        params.intercept = *intercept as f32;
                    }
                    ModalityTransform::Table(lut) => {
                        params.modality_len = lut.entries.len() as u32;
                        params.modality_first = lut.first_mapped;
                        tables.extend(lut.entries.iter().map(|v| f32::from(*v)));
                    }
                }
                params.invert = u32::from(pipeline.invert);
                let texels = stored
                    .iter()
                    .flat_map(|s| ((s - lo) as u16).to_le_bytes())
                    .collect();
                (wgpu::TextureFormat::R16Uint, texels)
            }
            FrameContent::Colour { rgb } => {
                params.colour = 1;
                params.voi_kind = 4;
                let texels = rgb
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect();
                (wgpu::TextureFormat::Rgba8Uint, texels)
            }
        };
        if let Some(voi) = super::chosen_voi(frame, options) {
            set_voi(&mut params, &voi, &mut tables);
        }
        if tables.is_empty() {
            tables.push(0.0);
        }
        let texture = self.device.create_texture_with_data(
            &self.queue,
            &wgpu::TextureDescriptor {
                label: Some("frame"),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            &texels,
        );
        let table_buffer = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("tables"),
                contents: &tables
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let uniform = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: &params.bytes(),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            });
        let bind_group = self.bind_group(&texture, &uniform, &table_buffer);
        Ok(GpuFrame {
            target: self.target(
                columns,
                rows,
                matches!(frame.content, FrameContent::Colour { .. }),
            ),
            uniform,
            bind_group,
            params,
        })
    }

    fn bind_group(
        &self,
        texture: &wgpu::Texture,
        uniform: &wgpu::Buffer,
        tables: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("frame"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: tables.as_entire_binding(),
                },
            ],
        })
    }

    fn target(&self, columns: u32, rows: u32, colour: bool) -> Target {
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("display"),
            size: wgpu::Extent3d {
                width: columns,
                height: rows,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::TEXTURE_BINDING,
            // egui samples its textures as Rgba8Unorm display levels (no sRGB decode), so
            // the window shows exactly the levels written here.
            view_formats: &[],
        });
        let padded_row_bytes = (columns * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(padded_row_bytes) * u64::from(rows),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Target {
            id: NEXT_TARGET_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            columns,
            rows,
            colour,
            texture,
            readback,
            padded_row_bytes,
        }
    }

    /// Sets a new window on an uploaded frame: a uniform write, never a re-upload. (A VOI LUT
    /// chosen at upload stays; a window replaces it.)
    pub fn set_window(&self, frame: &mut GpuFrame, window: super::Window, function: VoiFunction) {
        let mut unused = Vec::new();
        set_voi(
            &mut frame.params,
            &Voi::Window(window, function),
            &mut unused,
        );
        self.queue
            .write_buffer(&frame.uniform, 0, &frame.params.bytes());
    }

    /// Puts back a uniform saved from `frame.params` (the file's own VOI after user windows):
    /// a uniform write, never a re-upload.
    pub fn restore_params(&self, frame: &mut GpuFrame, params: GpuParams) {
        frame.params = params;
        self.queue
            .write_buffer(&frame.uniform, 0, &frame.params.bytes());
    }

    /// Draws the frame into its target and waits for the GPU, without reading back: what a
    /// window change costs on screen (benchmarks use it).
    pub fn draw_and_wait(&self, frame: &GpuFrame) -> Result<(), ImagingError> {
        self.submit_and_wait(self.encode_draw(&frame.target, &frame.bind_group, &frame.params))
    }

    fn submit_and_wait(&self, encoder: wgpu::CommandEncoder) -> Result<(), ImagingError> {
        self.queue.submit([encoder.finish()]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(gpu_error)?;
        Ok(())
    }

    fn encode_draw(
        &self,
        target: &Target,
        bind_group: &wgpu::BindGroup,
        params: &GpuParams,
    ) -> wgpu::CommandEncoder {
        let pipeline = self.pipeline(ShaderVariant::of(params));
        let view = target
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("display"),
            });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("display"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
        encoder
    }

    /// Draws the frame into its target without waiting: what the window then shows from the
    /// target ([`GpuFrame::display_view`]); the queue keeps the draw before the window's.
    pub fn draw_on_gpu(&self, frame: &GpuFrame) {
        self.queue.submit([self
            .encode_draw(&frame.target, &frame.bind_group, &frame.params)
            .finish()]);
    }

    /// Reads back what the frame's target holds (the last draw).
    pub fn read_back(&self, frame: &GpuFrame) -> Result<RenderedImage, ImagingError> {
        self.read_back_last_draw(&frame.target)
    }

    fn read_back_last_draw(&self, target: &Target) -> Result<RenderedImage, ImagingError> {
        let encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read back"),
            });
        self.read_back_target(target, encoder)
    }

    /// Inverts the display (the user's Invert, on top of MONOCHROME1's): a uniform write.
    pub fn set_invert(&self, frame: &mut GpuFrame, invert: bool) {
        frame.params.invert = u32::from(invert);
        self.queue
            .write_buffer(&frame.uniform, 0, &frame.params.bytes());
    }

    /// Draws the frame into its target and reads the pixels back.
    pub fn draw(&self, frame: &GpuFrame) -> Result<RenderedImage, ImagingError> {
        self.draw_and_read_back(&frame.target, &frame.bind_group, &frame.params)
    }

    fn draw_and_read_back(
        &self,
        frame: &Target,
        bind_group: &wgpu::BindGroup,
        params: &GpuParams,
    ) -> Result<RenderedImage, ImagingError> {
        let encoder = self.encode_draw(frame, bind_group, params);
        self.read_back_target(frame, encoder)
    }

    /// Copies the target into its read-back buffer after what `encoder` holds, and maps it.
    fn read_back_target(
        &self,
        frame: &Target,
        mut encoder: wgpu::CommandEncoder,
    ) -> Result<RenderedImage, ImagingError> {
        encoder.copy_texture_to_buffer(
            frame.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &frame.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(frame.padded_row_bytes),
                    rows_per_image: Some(frame.rows),
                },
            },
            wgpu::Extent3d {
                width: frame.columns,
                height: frame.rows,
                depth_or_array_layers: 1,
            },
        );
        self.queue.submit([encoder.finish()]);
        let slice = frame.readback.slice(..);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            // The receiver waits below; a send can only fail if it is gone.
            let _ = sender.send(result);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(gpu_error)?;
        receiver.recv().map_err(gpu_error)?.map_err(gpu_error)?;
        let channels: u8 = if frame.colour { 3 } else { 1 };
        let mut pixels = Vec::with_capacity(
            frame.columns as usize * frame.rows as usize * usize::from(channels),
        );
        {
            let data = slice.get_mapped_range().map_err(gpu_error)?;
            for row in data
                .chunks(frame.padded_row_bytes as usize)
                .take(frame.rows as usize)
            {
                for px in row[..frame.columns as usize * 4].chunks_exact(4) {
                    pixels.extend_from_slice(&px[..usize::from(channels)]);
                }
            }
        }
        frame.readback.unmap();
        Ok(RenderedImage {
            columns: frame.columns,
            rows: frame.rows,
            channels,
            pixels,
        })
    }

    /// Uploads, draws and reads back one frame; overlays are burnt in as on the CPU path.
    pub fn render(
        &self,
        frame: &DecodedFrame,
        options: &RenderOptions,
    ) -> Result<RenderedImage, ImagingError> {
        let uploaded = self.upload(frame, options)?;
        let mut image = self.draw(&uploaded)?;
        if options.overlays {
            super::draw_overlays(frame, image.channels, &mut image.pixels);
        }
        Ok(image)
    }
}
