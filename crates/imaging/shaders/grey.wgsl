// The greyscale display pipeline (DICOM PS3.3 C.11) and plain colour display for one frame:
// one layer of a texture array (a single frame is an array of one).
//
// The choices that are fixed for a frame (colour or grey, filtering, VOI function, a Modality
// LUT) are pipeline-overridable constants, so each pipeline holds only its own path: a software
// rasteriser such as lavapipe runs every branch of a shader under a mask, so one shader with
// all paths cost four times as much per pixel as the path it took.

// A colour (Rgba8Uint) frame.
override COLOUR: bool = false;
// Bilinear filtering (else nearest).
override BILINEAR: bool = false;
// 0 LINEAR, 1 LINEAR_EXACT, 2 SIGMOID, 3 VOI LUT table, 4 none (colour shown as is).
override VOI_KIND: u32 = 0u;
// A Modality LUT table (else rescale slope/intercept).
override MODALITY_TABLE: bool = false;
// Mirrors src/imaging/grey.rs (the CPU reference); keep the two in step.

struct Params {
    // Stored value = texel + stored_offset (the texture holds stored - min, so signed fits).
    stored_offset: f32,
    slope: f32,
    intercept: f32,
    // Modality LUT Sequence: 0 entries means rescale slope/intercept.
    modality_len: u32,
    modality_first: i32,
    // 0 LINEAR, 1 LINEAR_EXACT, 2 SIGMOID, 3 VOI LUT table, 4 none (colour shown as is).
    voi_kind: u32,
    center: f32,
    width: f32,
    voi_len: u32,
    voi_first: i32,
    voi_full_scale: f32,
    invert: u32,
    // 1 for an Rgba8Uint colour frame.
    colour: u32,
    // 1 for bilinear filtering, 0 for nearest.
    bilinear: u32,
    // The layer of the texture array to show (a series resident on the GPU scrolls by it).
    layer: u32,
    layer_padding: u32,
    // Image position of output pixel (0,0)'s top-left corner and image pixels per output pixel.
    image_origin: vec2<f32>,
    image_per_output: vec2<f32>,
};

@group(0) @binding(0) var frame: texture_2d_array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
// Modality LUT entries, then VOI LUT entries.
@group(0) @binding(2) var<storage, read> tables: array<f32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
};

// One triangle that covers the whole target.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    let x = f32(i32(index & 1u) * 4 - 1);
    let y = f32(i32(index >> 1u) * 4 - 1);
    var out: VertexOut;
    out.position = vec4<f32>(x, y, 0.0, 1.0);
    return out;
}

fn modality(texel: u32) -> f32 {
    let stored = f32(texel) + params.stored_offset;
    if (MODALITY_TABLE) {
        let i = clamp(i32(stored) - params.modality_first, 0, i32(params.modality_len) - 1);
        return tables[u32(i)];
    }
    return stored * params.slope + params.intercept;
}

fn load_modality(p: vec2<i32>) -> f32 {
    let size = vec2<i32>(textureDimensions(frame));
    let q = clamp(p, vec2<i32>(0, 0), size - vec2<i32>(1, 1));
    return modality(textureLoad(frame, q, i32(params.layer), 0).r);
}

fn load_colour(p: vec2<i32>) -> vec3<f32> {
    let size = vec2<i32>(textureDimensions(frame));
    let q = clamp(p, vec2<i32>(0, 0), size - vec2<i32>(1, 1));
    return vec3<f32>(textureLoad(frame, q, i32(params.layer), 0).rgb);
}

// VOI output in 0..1 for one modality value.
fn voi(x: f32) -> f32 {
    let c = params.center;
    let w = params.width;
    switch VOI_KIND {
        case 0u: {
            let w1 = max(w, 1.0);
            if (x <= c - 0.5 - (w1 - 1.0) / 2.0) { return 0.0; }
            if (x > c - 0.5 + (w1 - 1.0) / 2.0 || w1 <= 1.0) { return 1.0; }
            return (x - (c - 0.5)) / (w1 - 1.0) + 0.5;
        }
        case 1u: {
            if (x <= c - w / 2.0) { return 0.0; }
            if (x > c + w / 2.0) { return 1.0; }
            return (x - c) / w + 0.5;
        }
        case 2u: {
            return 1.0 / (1.0 + exp(-4.0 * (x - c) / w));
        }
        case 3u: {
            let i = clamp(i32(round(x)) - params.voi_first, 0, i32(params.voi_len) - 1);
            return tables[params.modality_len + u32(i)] / params.voi_full_scale;
        }
        default: {
            return x / 255.0;
        }
    }
}

// Quantises to the 8-bit display level the CPU path produces.
fn level(y: f32) -> f32 {
    return round(clamp(y, 0.0, 1.0) * 255.0);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let size = vec2<f32>(textureDimensions(frame));
    // Image coordinates of this output pixel's centre; texel centres sit at +0.5.
    let image = params.image_origin + in.position.xy * params.image_per_output;
    if (image.x < 0.0 || image.y < 0.0 || image.x >= size.x || image.y >= size.y) {
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    let p = image - vec2<f32>(0.5, 0.5);
    let base = vec2<i32>(floor(p));
    let f = p - floor(p);
    if (COLOUR) {
        var rgb = load_colour(base);
        if (BILINEAR) {
            rgb = mix(
                mix(rgb, load_colour(base + vec2<i32>(1, 0)), f.x),
                mix(load_colour(base + vec2<i32>(0, 1)), load_colour(base + vec2<i32>(1, 1)), f.x),
                f.y,
            );
        }
        var out = rgb;
        if (VOI_KIND != 4u) {
            out = vec3<f32>(level(voi(rgb.r)), level(voi(rgb.g)), level(voi(rgb.b)));
        }
        // The user's Invert on a colour frame: the display levels turned over.
        if (params.invert == 1u) {
            out = vec3<f32>(255.0, 255.0, 255.0) - out;
        }
        return vec4<f32>(out / 255.0, 1.0);
    }
    var x = load_modality(base);
    if (BILINEAR) {
        x = mix(
            mix(x, load_modality(base + vec2<i32>(1, 0)), f.x),
            mix(load_modality(base + vec2<i32>(0, 1)), load_modality(base + vec2<i32>(1, 1)), f.x),
            f.y,
        );
    }
    var y = level(voi(x));
    if (params.invert == 1u) {
        y = 255.0 - y;
    }
    return vec4<f32>(y / 255.0, y / 255.0, y / 255.0, 1.0);
}
