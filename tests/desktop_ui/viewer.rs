//! The viewer in the window: import, scroll, window, zoom, measurements on multi-frame stacks,
//! reference lines and synchronised scrolling.

use super::*;

#[test]
fn images_imported_from_a_folder_open_in_the_viewer_which_scrolls_windows_and_zooms() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("cd");
    std::fs::create_dir_all(&input).unwrap();
    let series = lightbox::pacs::synthetic::SyntheticSeries::new(7, 64);
    for i in 0..12 {
        series
            .slice(i)
            .unwrap()
            .write_to_file(input.join(format!("IM{i:03}")))
            .unwrap();
    }
    std::fs::write(input.join("README.TXT"), "not DICOM").unwrap();
    let mut harness = on_gpu_harness(
        app(dir.path()).with_services(window_services(dir.path(), &services.ingest)),
    );
    first_run(&mut harness);
    click(&mut harness, "Viewer");
    assert!(
        harness
            .query_by_label_contains("Open a study from the Studies screen")
            .is_some()
    );
    // Importing is a menu of the viewer's toolbar.
    harness.get_by_label_contains("Import images").click();
    harness.run();
    type_into(&mut harness, "or path", input.to_str().unwrap());
    harness.get_by_label("Import").click();
    step_until(&mut harness, "the import", |app| !app.viewer().importing());
    assert!(
        harness
            .query_by_label_contains("Import finished: 12 new, 0 already archived")
            .is_some()
    );
    assert!(harness.query_by_label_contains("1 refused").is_some());
    click(&mut harness, "Dismiss");

    click(&mut harness, "Studies");
    harness.run();
    assert_eq!(harness.state_mut().studies().studies().len(), 1);
    harness
        .get_all_by_label_contains("Open ")
        .next()
        .unwrap()
        .click();
    harness.step();
    assert_eq!(harness.state().screen(), Screen::Viewer);
    step_until(&mut harness, "the first image", |app| {
        app.viewer().shown_size().is_some()
    });
    assert_eq!(harness.state_mut().viewer().shown_size(), Some([64, 64]));
    assert_eq!(harness.state_mut().viewer().series()[0].images.len(), 12);
    // The series' plane comes from Image Orientation (for protocols that hang by plane).
    assert_eq!(
        harness.state_mut().viewer().series()[0].plane,
        Some(lightbox::viewing::hanging::Plane::Axial)
    );
    let first_window = harness.state_mut().viewer().shown_window().unwrap();

    // The wheel over the image scrolls the stack; keys too.
    let centre = egui::pos2(760.0, 420.0);
    harness.hover_at(centre);
    harness.step();
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -1.0),
        modifiers: egui::Modifiers::NONE,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
    });
    harness.step();
    assert_eq!(harness.state_mut().viewer().position(), (0, 1));
    harness.key_press(egui::Key::ArrowDown);
    harness.step();
    harness.key_press(egui::Key::End);
    harness.step();
    assert_eq!(harness.state_mut().viewer().position(), (0, 11));

    // Right-drag widens the window and raises the level.
    harness.event(egui::Event::PointerButton {
        pos: centre,
        button: egui::PointerButton::Secondary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    for step in 1..=4 {
        harness.hover_at(centre + egui::vec2(20.0 * step as f32, 10.0 * step as f32));
        harness.step();
    }
    harness.event(egui::Event::PointerButton {
        pos: centre + egui::vec2(80.0, 40.0),
        button: egui::PointerButton::Secondary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    step_until(&mut harness, "the new window", |app| {
        app.viewer()
            .shown_window()
            .is_some_and(|w| w.width > first_window.width)
    });
    let window = harness.state_mut().viewer().shown_window().unwrap();
    assert!(
        window.center > first_window.center,
        "{window:?} vs {first_window:?}"
    );
    // Measure on the last slice (organ radius 8 + 11 = 19 px around the centre, 60 HU; pixels
    // of 0.5 mm): a 40-pixel line is 20 mm, an ellipse inside the organ reads 60 HU.
    click(&mut harness, "Length");
    drag_on_image(&mut harness, (12.0, 32.0), (52.0, 32.0));
    click(&mut harness, "Ellipse");
    drag_on_image(&mut harness, (24.0, 24.0), (40.0, 40.0));
    let measured: Vec<String> = harness
        .state_mut()
        .viewer()
        .measurements()
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(measured.len(), 2, "{measured:?}");
    assert!(
        measured[0].starts_with("20.0 mm (Pixel Spacing)"),
        "{measured:?}"
    );
    assert!(measured[1].contains("mean 60.0 HU, SD 0.0"), "{measured:?}");
    // A manual calibration: the same 40 pixels declared 10 mm.
    click(&mut harness, "Calibrate");
    type_into(&mut harness, "Known length (mm)", "10");
    drag_on_image(&mut harness, (12.0, 40.0), (52.0, 40.0));
    click(&mut harness, "Length");
    drag_on_image(&mut harness, (12.0, 44.0), (32.0, 44.0));
    let measured = harness.state_mut().viewer().measurements();
    assert!(
        measured[2]
            .1
            .starts_with("5.0 mm (manual calibration against 10.0 mm)"),
        "{measured:?}"
    );
    // Reopened, the measurements are there again on that slice.
    let study = harness
        .state_mut()
        .viewer()
        .study_uid()
        .unwrap()
        .to_string();
    let practice = Practice::open(&dir.path().join("lightbox.sqlite")).unwrap();
    harness.state_mut().viewer().open(&practice, &study);
    step_until(&mut harness, "the reopened image", |app| {
        app.viewer().shown_size().is_some()
    });
    assert!(
        harness.state_mut().viewer().measurements().is_empty(),
        "slice 1 has none"
    );
    harness.state_mut().viewer().scroll_by(11);
    step_until(&mut harness, "slice 12", |app| {
        app.viewer().shown_size().is_some()
    });
    let again: Vec<String> = harness
        .state_mut()
        .viewer()
        .measurements()
        .into_iter()
        .map(|m| m.1)
        .collect();
    assert_eq!(again.len(), 3, "{again:?}");
    assert_eq!(again, measured.into_iter().map(|m| m.1).collect::<Vec<_>>());
    click(&mut harness, "Pan");
    // Cine plays the stack (looping) until stopped.
    let before = harness.state_mut().viewer().position().1;
    harness.get_by_label("Cine").click();
    for _ in 0..20 {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    harness.get_by_label("Cine").click();
    harness.step();
    assert_ne!(
        harness.state_mut().viewer().position().1,
        before,
        "cine moved"
    );
    harness.state_mut().viewer().scroll_by(11);
    settle(&mut harness);
    // A CT preset (lung), a quarter turn, invert, and the view exported as a PNG.
    click(&mut harness, "Window preset");
    click(&mut harness, "Lung (1500/-600)");
    step_until(&mut harness, "the lung window", |app| {
        app.viewer()
            .shown_window()
            .is_some_and(|w| w.center == -600.0 && w.width == 1500.0)
    });
    click(&mut harness, "Rotate");
    click(&mut harness, "Invert");
    // The image is shown straight from the GPU: Export PNG reads it back first.
    click(&mut harness, "Export PNG");
    let exports = dir.path().join("exports");
    let pngs = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&exports)
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "png"))
                    .collect()
            })
            .unwrap_or_default()
    };
    step_until(&mut harness, "the exported view", |_| pngs().len() == 1);
    let png = pngs();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png[0]).unwrap(),
    ))
    .read_info()
    .unwrap();
    assert_eq!((decoder.info().width, decoder.info().height), (64, 64));
    let mut exported = vec![0; decoder.output_buffer_size().unwrap()];
    decoder.next_frame(&mut exported).unwrap();
    // Its pixels are the lung window's, inverted (turned a quarter, so compared as sorted
    // levels), within one level of the CPU reference.
    let mut expected: Vec<u8> = lightbox::imaging::render_cpu(
        &lightbox::imaging::ImageFile::open(&input.join("IM011"))
            .unwrap()
            .frame(0)
            .unwrap(),
        &lightbox::imaging::RenderOptions {
            window: Some(lightbox::imaging::Window {
                center: -600.0,
                width: 1500.0,
            }),
            overlays: false,
        },
    )
    .pixels
    .iter()
    .map(|v| 255 - v)
    .collect();
    expected.sort_unstable();
    exported.sort_unstable();
    let worst = exported
        .iter()
        .zip(&expected)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "the exported view differs by {worst} levels");
    click(&mut harness, "Reset");
    step_until(&mut harness, "the image after reset", |app| {
        app.viewer().shown_size().is_some()
    });
    // Regression: Reset after a preset kept the preset's window on the GPU while the overlay
    // said the file's. The pixels now match the file's own rendering (CPU reference, ±1),
    // Invert undone too.
    harness.state_mut().viewer().read_back();
    step_until(&mut harness, "the shown pixels", |app| {
        app.viewer().shown_pixels().is_some()
    });
    let file = lightbox::imaging::ImageFile::open(&input.join("IM011")).unwrap();
    let reference = lightbox::imaging::render_cpu(
        &file.frame(0).unwrap(),
        &lightbox::imaging::RenderOptions::default(),
    );
    let shown = harness
        .state_mut()
        .viewer()
        .shown_pixels()
        .unwrap()
        .to_vec();
    assert_eq!(shown.len(), reference.pixels.len());
    let worst = shown
        .iter()
        .zip(&reference.pixels)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(
        worst <= 1,
        "after Reset the image differs from the file's window by {worst}"
    );
    // Ctrl+wheel zooms 10 % a notch, whatever the wheel reports per notch.
    click(&mut harness, "1:1");
    let centre = harness.state_mut().viewer().image_rect().unwrap().center();
    harness.hover_at(centre);
    harness.run();
    for _ in 0..3 {
        harness.event_modifiers(
            egui::Event::MouseWheel {
                unit: egui::MouseWheelUnit::Line,
                delta: egui::vec2(0.0, 1.0),
                modifiers: egui::Modifiers::COMMAND,
                phase: egui::TouchPhase::Move,
                source: egui::MouseWheelSource::Unknown,
            },
            egui::Modifiers::COMMAND,
        );
        harness.step();
    }
    harness.run();
    let zoom = harness.state_mut().viewer().shown_zoom();
    assert!(
        (zoom - 1.1f32.powi(3)).abs() < 0.01,
        "three notches from 1:1 gave {zoom}"
    );
    // The point under the cursor stayed under it: the image's centre did not move.
    let after = harness.state_mut().viewer().image_rect().unwrap().center();
    assert!((after - centre).length() < 1.0, "{centre:?} → {after:?}");
    // 1:1 zoom; the snapshot shows the thumbnail, the image and its overlay.
    click(&mut harness, "1:1");
    step_until(&mut harness, "the thumbnail", |app| {
        app.viewer().thumbnail_count() == 1
    });
    harness.hover_at(egui::pos2(5.0, 760.0));
    harness.step();
    // The whole series went onto the GPU in the background (16 bits a pixel, plus the
    // display target); the status corner says so when Diagnostics is on.
    step_until(&mut harness, "the series on the GPU", |app| {
        app.viewer().series_loaded() == (12, 12)
    });
    let (cache_bytes, gpu_bytes) = harness.state_mut().viewer().memory_bytes();
    assert_eq!(gpu_bytes, 12 * 64 * 64 * 2 + 64 * 64 * 4);
    // The slices shown were decoded into the frame cache too (for their modality values).
    assert!(
        cache_bytes >= 64 * 64 * (4 + 8),
        "cache holds {cache_bytes} bytes"
    );
    harness.step();
    harness.snapshot_options("viewer", &SnapshotOptions::new().max_failed_pixels(50));
    // The magnifier shows what is under the pointer, three times larger.
    click(&mut harness, "Magnifier");
    let centre = harness.state_mut().viewer().image_rect().unwrap().center();
    harness.hover_at(centre);
    harness.step();
    harness.step();
    harness.snapshot_options(
        "viewer_magnifier",
        &SnapshotOptions::new().max_failed_pixels(50),
    );
    click(&mut harness, "Magnifier");
    // The imported study matched no order: it waits in reconciliation, and the monitor links
    // it to the right order (its headers take the order's patient and accession).
    let mut store = crate::common::store(dir.path());
    let items = store.open_reconciliation().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let admin = harness.state().actor().unwrap().clone();
    let accession = orders_waiting(&mut store, &admin, "70450", 1).remove(0);
    click(&mut harness, "Integration");
    type_into(
        &mut harness,
        &format!("Accession for #{}", items[0].id),
        &accession,
    );
    click(&mut harness, &format!("Link #{}", items[0].id));
    assert!(
        harness
            .query_by_label_contains(&format!("linked to {accession}: 12 images"))
            .is_some()
    );
    assert!(store.open_reconciliation().unwrap().is_empty());
    drop(services);
}

#[test]
fn a_multi_frame_file_becomes_a_stack_and_measurements_keep_their_frame() {
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let mut harness = on_gpu_harness(
        app(dir.path()).with_services(window_services(dir.path(), &services.ingest)),
    );
    first_run(&mut harness);
    // The practice shows no patient line in the corner (a shared reading room).
    crate::common::store(dir.path())
        .set_setting(
            "viewer.overlay",
            "series, image, position, window, zoom, spacing",
        )
        .unwrap();
    // A 10-frame clip (the corpus's emri_small) acquired at 40 ms a frame, as an ultrasound
    // cine says in Frame Time.
    let mut clip = dicom_object::open_file(common::corpus_dicom().join("emri_small.dcm")).unwrap();
    clip.put(dicom_core::DataElement::new(
        dicom_dictionary_std::tags::FRAME_TIME,
        dicom_core::VR::DS,
        dicom_core::PrimitiveValue::from("40"),
    ));
    let clip_path = dir.path().join("clip.dcm");
    clip.write_to_file(&clip_path).unwrap();
    let summary = lightbox::import::import_paths(&services.ingest, &[clip_path]);
    assert_eq!(summary.imported, 1);
    click(&mut harness, "Studies");
    harness
        .get_all_by_label_contains("Open ")
        .next()
        .unwrap()
        .click();
    step_until(&mut harness, "the stack of frames", |app| {
        app.viewer().shown_size().is_some() && app.viewer().series()[0].images.len() == 10
    });
    assert_eq!(
        harness.state_mut().viewer().series()[0].frames,
        (0..10).collect::<Vec<u32>>()
    );
    harness.state_mut().viewer().scroll_by(9);
    step_until(&mut harness, "frame 10", |app| {
        app.viewer().shown_size().is_some()
    });
    assert_eq!(harness.state_mut().viewer().position(), (0, 9));
    let overlay = harness.state_mut().viewer().overlay_text();
    assert!(overlay.contains("Image 10 / 10"), "{overlay}");
    assert!(overlay.contains("Zoom "), "{overlay}");
    assert!(overlay.starts_with("Series "), "no patient line: {overlay}");
    click(&mut harness, "Value");
    let rect = harness.state_mut().viewer().image_rect().unwrap();
    harness.hover_at(rect.center());
    harness.step();
    harness.event(egui::Event::PointerButton {
        pos: rect.center(),
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    harness.event(egui::Event::PointerButton {
        pos: rect.center(),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    settle(&mut harness);
    let store = crate::common::store(dir.path());
    let study = harness
        .state_mut()
        .viewer()
        .study_uid()
        .unwrap()
        .to_string();
    let stored = store.annotations_of_study(&study).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].frame, 9, "the measurement belongs to frame 10");
    assert_eq!(harness.state_mut().viewer().measurements().len(), 1);
    // Frame 1 of the same file shows none of it.
    harness.state_mut().viewer().scroll_by(-9);
    harness.step();
    assert!(harness.state_mut().viewer().measurements().is_empty());
    // Cine plays the clip at the file's own rate (25 frames/s), and says so.
    click(&mut harness, "Pan");
    harness.get_by_label("Cine").click();
    harness.step();
    assert_eq!(harness.state_mut().viewer().cine_fps(), Some(25.0));
    assert!(harness.query_by_label("file: 25/s").is_some());
    for _ in 0..10 {
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert_ne!(
        harness.state_mut().viewer().position(),
        (0, 0),
        "the clip plays"
    );
    harness.get_by_label("Cine").click();
    harness.step();
    assert_eq!(harness.state_mut().viewer().cine_fps(), None);
    drop(services);
}

#[test]
fn an_axial_slice_shows_as_a_reference_line_on_the_sagittal_series_beside_it() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("mr");
    std::fs::create_dir_all(&input).unwrap();
    let axial = lightbox::pacs::synthetic::SyntheticSeries::new(31, 64);
    let mut sagittal = axial.clone();
    sagittal.series_uid = format!("{}.9", axial.series_uid);
    let frame_of_reference = format!("{}.4", axial.series_uid);
    for i in 0..4 {
        axial
            .slice(i)
            .unwrap()
            .write_to_file(input.join(format!("AX{i}")))
            .unwrap();
        let mut s = sagittal.slice(i).unwrap();
        let put = |s: &mut dicom_object::FileDicomObject<dicom_object::InMemDicomObject>,
                   tag,
                   vr,
                   v: &str| {
            s.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        };
        // Rows run posterior, columns to the feet; through the axial block's middle.
        put(
            &mut s,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            "0\\1\\0\\0\\0\\-1",
        );
        put(
            &mut s,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("{}\\-128\\16", -8 + i as i32),
        );
        put(
            &mut s,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &frame_of_reference,
        );
        put(&mut s, tags::SERIES_NUMBER, VR::IS, "2");
        s.write_to_file(input.join(format!("SAG{i}"))).unwrap();
    }
    let mut harness = open_imported_study(dir.path(), &services, input, 8);
    // Axial beside sagittal.
    click(&mut harness, "Layout");
    click(&mut harness, "1×2");
    assert_eq!(harness.state_mut().viewer().layout(), (1, 2));
    let series = harness.state_mut().viewer().series().to_vec();
    assert_eq!(
        series[1].plane,
        Some(lightbox::viewing::hanging::Plane::Sagittal)
    );
    step_until(&mut harness, "the reference line", |app| {
        app.viewer().reference_lines() == 1
    });
    drop(services);
}

#[test]
fn synchronised_scrolling_follows_slice_position_and_an_anchor_across_frames_of_reference() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir().unwrap();
    let data = lightbox::app::DataFolder::resolve(Some(dir.path())).unwrap();
    let services = lightbox::app::ArchiveServices::start(&data).unwrap();
    let input = dir.path().join("ct");
    std::fs::create_dir_all(&input).unwrap();
    let base = lightbox::pacs::synthetic::SyntheticSeries::new(41, 32);
    let frame = format!("{}.4", base.series_uid);
    // Series 1: 20 slices of 2.5 mm from z = 0. Series 2, same frame: 10 slices of 5 mm
    // running down from z = 45. Series 3, another frame (as a prior is): 20 slices of 5 mm
    // from z = 300.
    let series: [(u32, u32, f64, f64, String); 3] = [
        (1, 20, 0.0, 2.5, frame.clone()),
        (2, 10, 45.0, -5.0, frame.clone()),
        (3, 20, 300.0, 5.0, format!("{frame}.9")),
    ];
    for (number, slices, first_z, step_mm, frame_of_reference) in &series {
        let mut s = base.clone();
        s.series_uid = format!("{}.{number}", base.series_uid);
        for i in 0..*slices {
            let mut obj = s.slice(i).unwrap();
            let mut put = |tag, vr, v: &str| {
                obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
            };
            put(
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                &format!("-8\\-8\\{}", first_z + step_mm * f64::from(i)),
            );
            put(tags::FRAME_OF_REFERENCE_UID, VR::UI, frame_of_reference);
            put(tags::SERIES_NUMBER, VR::IS, &number.to_string());
            obj.write_to_file(input.join(format!("S{number}_{i:02}")))
                .unwrap();
        }
    }
    let mut harness = open_imported_study(dir.path(), &services, input, 50);
    click(&mut harness, "Layout");
    click(&mut harness, "2×2");
    // Every pane's series loads onto the GPU, and with it where each slice lies.
    step_until(&mut harness, "the three series loaded", |app| {
        let loaded = app.viewer().panes_loaded();
        loaded[..3] == [(20, 20), (10, 10), (20, 20)]
    });
    // The viewer's image memory (2 GiB by default) is shared by the four viewports.
    assert_eq!(
        harness.state_mut().viewer().memory_shares(),
        vec![Some(512 << 20); 4]
    );
    click(&mut harness, "Sync scroll");
    // 8 slices down series 1 is z = 20: series 2 (same frame) is at its slice 5 (z = 20);
    // series 3 (another frame, no anchor yet) moves as many images.
    harness.state_mut().viewer().scroll_by(8);
    harness.step();
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().image_positions()[..3],
        [8, 5, 8]
    );
    // The radiologist lines the prior up by hand: sync off, series 1 two slices further
    // (z = 25) while series 3 stays at z = 340; anchored there.
    click(&mut harness, "Sync scroll");
    harness.state_mut().viewer().scroll_by(2);
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().image_positions()[..3],
        [10, 5, 8]
    );
    click(&mut harness, "Anchor sync here");
    // 20 mm further (8 slices of 2.5 mm): series 2 by position (z = 45, its first slice),
    // series 3 by distance from the anchor (20 mm = 4 of its slices).
    harness.state_mut().viewer().scroll_by(8);
    harness.step();
    harness.step();
    assert_eq!(
        harness.state_mut().viewer().image_positions()[..3],
        [18, 0, 12]
    );
    drop(services);
}
