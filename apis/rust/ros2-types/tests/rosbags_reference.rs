//! ROS 2 types at run time (`dora-ros2-types`), checked against the independent `rosbags`
//! Python package (`pip install rosbags==0.11.9`): definitions against its ROS 2 Jazzy type
//! store, CDR bytes against its serializer. The tests fail, never skip, when python3 or rosbags
//! is missing.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
};

use arrow_array::{
    cast::AsArray, new_empty_array, types::*, Array, ArrayRef, BooleanArray, FixedSizeListArray,
    ListArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field as ArrowField, Fields};
use dora_ros2_types::{
    arrow_type, deserialize, mapping::field_data_type, serialize, shipped_interfaces_dir,
    Cardinality, DeserializeError, ElementType, FieldType, MessageBuilder, MessageType, Primitive,
    SerializeError, TypeError, TypeStore, Value,
};
use serde_json::{json, Value as Json};

const ROSBAGS_PIP: &str = "pip install rosbags==0.11.9";

fn store() -> TypeStore {
    TypeStore::builder().use_env(false).build()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../tests/fixtures/ros2")
        .join(name)
}

/// Runs a fixture script with python3; panics (the test fails) when python3 or rosbags is
/// missing or the script fails.
fn python(script: &str, args: &[&Path]) -> String {
    let output = Command::new("python3")
        .arg(fixture(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 is required for this test ({e}); then {ROSBAGS_PIP}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}); needs `{ROSBAGS_PIP}`\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

// ---------------------------------------------------------------------------------------------
// JSON ⇄ Arrow, guided by the message type (test helpers).

/// One row per JSON object; only fields present in the first row become columns.
fn struct_array(message: &MessageType, rows: &[&Json]) -> StructArray {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for field in &message.fields {
        if rows.first().is_some_and(|r| r.get(&field.name).is_none()) {
            continue;
        }
        let values: Vec<&Json> = rows.iter().map(|r| &r[&field.name]).collect();
        let column = field_array(&field.ty, &values);
        fields.push(ArrowField::new(
            &field.name,
            column.data_type().clone(),
            true,
        ));
        columns.push(column);
    }
    if fields.is_empty() {
        return StructArray::new_empty_fields(rows.len(), None);
    }
    StructArray::new(Fields::from(fields), columns, None)
}

fn field_array(ty: &FieldType, values: &[&Json]) -> ArrayRef {
    let items: Vec<&Json> = values
        .iter()
        .flat_map(|v| {
            v.as_array()
                .map(|a| a.iter().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    match ty.cardinality {
        Cardinality::Single => element_array(&ty.element, values),
        Cardinality::Sequence { .. } => {
            let lengths = values.iter().map(|v| v.as_array().map_or(0, Vec::len));
            let DataType::List(item) = field_data_type(ty) else {
                unreachable!()
            };
            Arc::new(ListArray::new(
                item,
                OffsetBuffer::from_lengths(lengths),
                element_array(&ty.element, &items),
                None,
            ))
        }
        Cardinality::Array(n) => {
            let DataType::FixedSizeList(item, _) = field_data_type(ty) else {
                unreachable!()
            };
            Arc::new(FixedSizeListArray::new(
                item,
                n as i32,
                element_array(&ty.element, &items),
                None,
            ))
        }
    }
}

fn element_array(element: &ElementType, values: &[&Json]) -> ArrayRef {
    fn prim<T: ArrowPrimitiveType>(values: &[&Json], f: impl Fn(&Json) -> T::Native) -> ArrayRef {
        Arc::new(PrimitiveArray::<T>::new(
            ScalarBuffer::from(values.iter().map(|v| f(v)).collect::<Vec<_>>()),
            None,
        ))
    }
    let int = |v: &Json| v.as_i64().unwrap_or(0);
    let uint = |v: &Json| v.as_u64().unwrap_or(0);
    let float = |v: &Json| v.as_f64().unwrap_or(0.0);
    match element {
        ElementType::Primitive(p) => match p {
            Primitive::Bool => Arc::new(BooleanArray::from(
                values
                    .iter()
                    .map(|v| v.as_bool().unwrap_or(false))
                    .collect::<Vec<_>>(),
            )),
            Primitive::Byte | Primitive::Char | Primitive::UInt8 => {
                prim::<UInt8Type>(values, |v| uint(v) as u8)
            }
            Primitive::Int8 => prim::<Int8Type>(values, |v| int(v) as i8),
            Primitive::Int16 => prim::<Int16Type>(values, |v| int(v) as i16),
            Primitive::UInt16 => prim::<UInt16Type>(values, |v| uint(v) as u16),
            Primitive::Int32 => prim::<Int32Type>(values, |v| int(v) as i32),
            Primitive::UInt32 => prim::<UInt32Type>(values, |v| uint(v) as u32),
            Primitive::Int64 => prim::<Int64Type>(values, int),
            Primitive::UInt64 => prim::<UInt64Type>(values, uint),
            Primitive::Float32 => prim::<Float32Type>(values, |v| float(v) as f32),
            Primitive::Float64 => prim::<Float64Type>(values, float),
        },
        ElementType::String { .. } | ElementType::WString { .. } => Arc::new(
            StringArray::from_iter_values(values.iter().map(|v| v.as_str().unwrap_or(""))),
        ),
        ElementType::Message(m) => {
            if values.is_empty() {
                return new_empty_array(&arrow_type(m));
            }
            Arc::new(struct_array(m, values))
        }
    }
}

/// Row `i` of an Arrow array as JSON.
fn to_json(array: &dyn Array, i: usize) -> Json {
    match array.data_type() {
        DataType::Struct(fields) => {
            let s = array.as_struct();
            Json::Object(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), to_json(c.as_ref(), i)))
                    .collect(),
            )
        }
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            let values = l.value(i);
            Json::Array(
                (0..values.len())
                    .map(|j| to_json(values.as_ref(), j))
                    .collect(),
            )
        }
        DataType::FixedSizeList(_, _) => {
            let l = array.as_fixed_size_list();
            let values = l.value(i);
            Json::Array(
                (0..values.len())
                    .map(|j| to_json(values.as_ref(), j))
                    .collect(),
            )
        }
        DataType::Boolean => json!(array.as_boolean().value(i)),
        DataType::Utf8 => json!(array.as_string::<i32>().value(i)),
        DataType::UInt8 => json!(array.as_primitive::<UInt8Type>().value(i)),
        DataType::Int8 => json!(array.as_primitive::<Int8Type>().value(i)),
        DataType::UInt16 => json!(array.as_primitive::<UInt16Type>().value(i)),
        DataType::Int16 => json!(array.as_primitive::<Int16Type>().value(i)),
        DataType::UInt32 => json!(array.as_primitive::<UInt32Type>().value(i)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(i)),
        DataType::UInt64 => json!(array.as_primitive::<UInt64Type>().value(i)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => json!(array.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => json!(array.as_primitive::<Float64Type>().value(i)),
        other => panic!("unexpected Arrow type {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// (a) Definitions: every required type is shipped and matches rosbags' Jazzy definitions.

const REQUIRED_MESSAGES: &[&str] = &[
    "builtin_interfaces/Time",
    "builtin_interfaces/Duration",
    "std_msgs/Header",
    "std_msgs/String",
    "std_msgs/Bool",
    "std_msgs/Byte",
    "std_msgs/Char",
    "std_msgs/Empty",
    "std_msgs/ColorRGBA",
    "std_msgs/Int8",
    "std_msgs/Int16",
    "std_msgs/Int32",
    "std_msgs/Int64",
    "std_msgs/UInt8",
    "std_msgs/UInt16",
    "std_msgs/UInt32",
    "std_msgs/UInt64",
    "std_msgs/Float32",
    "std_msgs/Float64",
    "std_msgs/MultiArrayLayout",
    "std_msgs/MultiArrayDimension",
    "std_msgs/ByteMultiArray",
    "std_msgs/Float32MultiArray",
    "std_msgs/Float64MultiArray",
    "std_msgs/Int8MultiArray",
    "std_msgs/Int16MultiArray",
    "std_msgs/Int32MultiArray",
    "std_msgs/Int64MultiArray",
    "std_msgs/UInt8MultiArray",
    "std_msgs/UInt16MultiArray",
    "std_msgs/UInt32MultiArray",
    "std_msgs/UInt64MultiArray",
    "geometry_msgs/Point",
    "geometry_msgs/Point32",
    "geometry_msgs/Pose",
    "geometry_msgs/Pose2D",
    "geometry_msgs/PoseStamped",
    "geometry_msgs/PoseWithCovariance",
    "geometry_msgs/PoseWithCovarianceStamped",
    "geometry_msgs/Quaternion",
    "geometry_msgs/Twist",
    "geometry_msgs/TwistStamped",
    "geometry_msgs/TwistWithCovariance",
    "geometry_msgs/TwistWithCovarianceStamped",
    "geometry_msgs/Vector3",
    "geometry_msgs/Vector3Stamped",
    "geometry_msgs/Transform",
    "geometry_msgs/TransformStamped",
    "geometry_msgs/Accel",
    "geometry_msgs/AccelStamped",
    "geometry_msgs/AccelWithCovariance",
    "geometry_msgs/AccelWithCovarianceStamped",
    "geometry_msgs/Wrench",
    "geometry_msgs/WrenchStamped",
    "geometry_msgs/Polygon",
    "geometry_msgs/PolygonStamped",
    "geometry_msgs/Inertia",
    "geometry_msgs/InertiaStamped",
    "geometry_msgs/PointStamped",
    "geometry_msgs/QuaternionStamped",
    "sensor_msgs/Image",
    "sensor_msgs/CompressedImage",
    "sensor_msgs/CameraInfo",
    "sensor_msgs/RegionOfInterest",
    "sensor_msgs/Imu",
    "sensor_msgs/LaserScan",
    "sensor_msgs/PointCloud2",
    "sensor_msgs/PointField",
    "sensor_msgs/NavSatFix",
    "sensor_msgs/NavSatStatus",
    "sensor_msgs/JointState",
    "sensor_msgs/BatteryState",
    "sensor_msgs/Range",
    "sensor_msgs/Temperature",
    "sensor_msgs/MagneticField",
    "sensor_msgs/FluidPressure",
    "sensor_msgs/Illuminance",
    "sensor_msgs/RelativeHumidity",
    "sensor_msgs/Joy",
    "sensor_msgs/ChannelFloat32",
    "sensor_msgs/PointCloud",
    "nav_msgs/Odometry",
    "nav_msgs/Path",
    "nav_msgs/OccupancyGrid",
    "nav_msgs/MapMetaData",
    "nav_msgs/GridCells",
    "example_interfaces/Int64",
    "example_interfaces/String",
    "dora_demo_msgs/RobotState",
    "dora_demo_msgs/Wheel",
    "unique_identifier_msgs/UUID",
    "action_msgs/GoalInfo",
    "action_msgs/GoalStatus",
    "action_msgs/GoalStatusArray",
];

const REQUIRED_SERVICES: &[&str] = &[
    "nav_msgs/GetMap",
    "nav_msgs/GetPlan",
    "nav_msgs/SetMap",
    "std_srvs/Empty",
    "std_srvs/SetBool",
    "std_srvs/Trigger",
    "example_interfaces/AddTwoInts",
    "dora_demo_msgs/SetMode",
    "action_msgs/CancelGoal",
];

#[test]
fn every_required_type_is_shipped_and_resolves() {
    let store = store();
    for name in REQUIRED_MESSAGES {
        store
            .message(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in REQUIRED_SERVICES {
        store
            .service(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Every shipped file parses and resolves, not only the required ones.
    for name in store.known_types() {
        let text = name.to_string();
        match name.namespace.as_str() {
            "srv" => drop(store.service(&text).unwrap_or_else(|e| panic!("{e}"))),
            _ => drop(store.message(&text).unwrap_or_else(|e| panic!("{e}"))),
        }
    }
}

fn json_value(v: &Value) -> Json {
    match v {
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Sequence(items) => Json::Array(items.iter().map(json_value).collect()),
    }
}

fn element_name(element: &ElementType) -> (String, usize) {
    match element {
        ElementType::Primitive(p) => (p.msg_name().to_owned(), 0),
        ElementType::String { bound } => ("string".to_owned(), bound.unwrap_or(0)),
        ElementType::WString { bound } => ("wstring".to_owned(), bound.unwrap_or(0)),
        ElementType::Message(m) => (m.name.to_string(), 0),
    }
}

fn describe_message(m: &MessageType, section: Option<&str>) -> Json {
    let fields: Vec<Json> = m
        .fields
        .iter()
        .map(|f| {
            let (base, string_bound) = element_name(&f.ty.element);
            let (kind, size) = match f.ty.cardinality {
                Cardinality::Single => ("scalar", 0),
                Cardinality::Array(n) => ("array", n),
                Cardinality::Sequence { bound } => ("sequence", bound.unwrap_or(0)),
            };
            json!([
                f.name,
                kind,
                base,
                string_bound,
                size,
                f.default.as_ref().map(json_value)
            ])
        })
        .collect();
    let constants: Vec<Json> = m
        .constants
        .iter()
        .map(|c| {
            let ty = match &c.ty {
                ElementType::Primitive(p) => p.msg_name(),
                ElementType::WString { .. } => "wstring",
                _ => "string",
            };
            json!([c.name, ty, json_value(&c.value)])
        })
        .collect();
    json!({"source": m.source, "section": section, "fields": fields, "constants": constants})
}

#[test]
fn shipped_types_match_rosbags_jazzy() {
    let store = store();
    let mut ours = serde_json::Map::new();
    for name in store.known_types() {
        let text = name.to_string();
        if name.namespace == "srv" {
            let service = store.service(&text).unwrap();
            for (part, section) in [
                (&service.request, "request"),
                (&service.response, "response"),
            ] {
                ours.insert(part.name.to_string(), describe_message(part, Some(section)));
            }
        } else {
            let m = store.message(&text).unwrap();
            ours.insert(text, describe_message(&m, None));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.json");
    std::fs::write(&path, serde_json::to_vec(&Json::Object(ours)).unwrap()).unwrap();
    let stdout = python("compare_types.py", &[&path]);
    let summary: Json = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("{summary}");
    // All of std_msgs, geometry_msgs, sensor_msgs, nav_msgs and builtin_interfaces messages.
    assert!(
        summary["compared_with_jazzy_store"].as_u64().unwrap() >= 96,
        "{summary}"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) CDR bytes equal rosbags' in both directions.

fn header(sec: i32, nanosec: u32, frame: &str) -> Json {
    json!({"stamp": {"sec": sec, "nanosec": nanosec}, "frame_id": frame})
}

fn cdr_cases() -> Vec<(&'static str, Json)> {
    let pose = json!({
        "position": {"x": 1.5, "y": -2.25, "z": 0.1},
        "orientation": {"x": 0.0, "y": 0.0, "z": std::f64::consts::FRAC_1_SQRT_2, "w": std::f64::consts::FRAC_1_SQRT_2},
    });
    let covariance: Vec<f64> = (0..36).map(|i| i as f64 * 0.01).collect();
    let image: Vec<u8> = (0..640 * 480 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let points: Vec<u8> = (0..4 * 16).map(|i| (255 - i) as u8).collect();
    let wheel =
        |name: &str, speed: f64, t: i64| json!({"name": name, "speed": speed, "temperature": t});
    vec![
        (
            "std_msgs/msg/String",
            json!({"data": "hello ROS 2 — ünïcödé"}),
        ),
        ("std_msgs/msg/String", json!({"data": ""})),
        ("std_msgs/msg/Empty", json!({})),
        ("std_msgs/msg/Bool", json!({"data": true})),
        (
            "geometry_msgs/msg/Twist",
            json!({
                "linear": {"x": 0.5, "y": 0.0, "z": -1.0e-3},
                "angular": {"x": 0.0, "y": 0.0, "z": 1.25},
            }),
        ),
        (
            "sensor_msgs/msg/Image",
            json!({
                "header": header(1_700_000_000, 123_456_789, "camera_optical"),
                "height": 480, "width": 640, "encoding": "rgb8", "is_bigendian": 0,
                "step": 1920, "data": image,
            }),
        ),
        (
            "sensor_msgs/msg/Imu",
            json!({
                "header": header(12, 34, "imu_link"),
                "orientation": {"x": 0.1, "y": 0.2, "z": 0.3, "w": 0.9},
                "orientation_covariance": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                "angular_velocity": {"x": 0.01, "y": -0.02, "z": 0.03},
                "angular_velocity_covariance": [-1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                "linear_acceleration": {"x": 0.0, "y": 0.0, "z": 9.81},
                "linear_acceleration_covariance": [0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5],
            }),
        ),
        (
            "sensor_msgs/msg/PointCloud2",
            json!({
                "header": header(5, 6, "lidar"),
                "height": 1, "width": 4,
                "fields": [
                    {"name": "x", "offset": 0, "datatype": 7, "count": 1},
                    {"name": "y", "offset": 4, "datatype": 7, "count": 1},
                    {"name": "z", "offset": 8, "datatype": 7, "count": 1},
                    {"name": "intensity", "offset": 12, "datatype": 7, "count": 1},
                ],
                "is_bigendian": false, "point_step": 16, "row_step": 64,
                "data": points, "is_dense": true,
            }),
        ),
        (
            "nav_msgs/msg/Odometry",
            json!({
                "header": header(-3, 999_999_999, "odom"),
                "child_frame_id": "base_link",
                "pose": {"pose": pose, "covariance": covariance},
                "twist": {
                    "twist": {"linear": {"x": 0.3, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": -0.4}},
                    "covariance": covariance,
                },
            }),
        ),
        (
            "sensor_msgs/msg/JointState",
            json!({
                "header": header(1, 2, ""),
                "name": ["shoulder", "elbow", "wrist"],
                "position": [0.1, 0.2, 0.3], "velocity": [], "effort": [1.5, -1.5, 0.0],
            }),
        ),
        (
            "sensor_msgs/msg/NavSatFix",
            json!({
                "header": header(7, 8, "gps"),
                "status": {"status": 2, "service": 9},
                "latitude": 48.1, "longitude": 11.5, "altitude": 520.25,
                "position_covariance": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 4.0],
                "position_covariance_type": 2,
            }),
        ),
        (
            "std_msgs/msg/Float32MultiArray",
            json!({
                "layout": {"dim": [{"label": "rows", "size": 2, "stride": 6}, {"label": "cols", "size": 3, "stride": 3}], "data_offset": 1},
                "data": [0.5, -1.25, 2.0, 3.5, 4.0, 1.0e-3f32 as f64],
            }),
        ),
        (
            "dora_demo_msgs/msg/RobotState",
            json!({
                "header": header(100, 200, "map"),
                "name": "rover-1", "mode": 2, "pose": pose,
                "gains": [0.5, 1.5, 2.5],
                "recent_codes": [-1, 0, 7, 2147483647],
                "tags": ["fast", "outdoor"],
                "wheels": [wheel("fl", 1.5, 30), wheel("fr", 1.5, 31), wheel("rl", -0.25, -1), wheel("rr", 0.0, 40)],
                "payload": [1, 2, 3],
                "enabled": false, "battery": 0.75,
            }),
        ),
    ]
}

#[test]
fn cdr_bytes_match_rosbags_both_ways() {
    let store = store();
    let cases = cdr_cases();
    let dir = tempfile::tempdir().unwrap();
    let cases_path = dir.path().join("cases.json");
    let out_path = dir.path().join("out.json");
    let json_cases: Vec<Json> = cases
        .iter()
        .map(|(t, v)| json!({"type": t, "value": v}))
        .collect();
    std::fs::write(&cases_path, serde_json::to_vec(&json_cases).unwrap()).unwrap();
    python(
        "cdr_reference.py",
        &[&cases_path, &shipped_interfaces_dir(), &out_path],
    );
    let reference: Vec<String> =
        serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(reference.len(), cases.len());

    for ((type_name, value), hex) in cases.iter().zip(&reference) {
        let expected = decode_hex(hex);
        let message = store.message(type_name).unwrap();
        // Arrow → CDR.
        let row = struct_array(&message, &[value]);
        let ours = serialize(&message, &row, 0).unwrap_or_else(|e| panic!("{type_name}: {e}"));
        assert!(
            ours == expected,
            "{type_name}: our bytes differ from rosbags'\nours:    {}\nrosbags: {}",
            short_hex(&ours),
            short_hex(&expected)
        );
        // CDR → Arrow.
        let decoded =
            deserialize(&message, &expected).unwrap_or_else(|e| panic!("{type_name}: {e}"));
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded.data_type(), &arrow_type(&message), "{type_name}");
        assert!(
            to_json(&decoded, 0) == *value,
            "{type_name}: decoded values differ"
        );
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn short_hex(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().take(160).map(|b| format!("{b:02x}")).collect();
    format!("{hex}… ({} bytes)", bytes.len())
}

#[test]
fn builder_decodes_a_batch_and_rows_serialize_back() {
    let store = store();
    let message = store.message("geometry_msgs/msg/PoseStamped").unwrap();
    let rows: Vec<Json> = (0..5)
        .map(|i| {
            json!({
                "header": header(i, 0, &format!("frame{i}")),
                "pose": {"position": {"x": i as f64, "y": 0.5, "z": 0.0},
                         "orientation": {"x": 0.0, "y": 0.0, "z": 0.0, "w": 1.0}},
            })
        })
        .collect();
    let refs: Vec<&Json> = rows.iter().collect();
    let batch = struct_array(&message, &refs);
    let mut builder = MessageBuilder::new(message.clone());
    let mut encoded = Vec::new();
    for row in 0..batch.len() {
        let bytes = serialize(&message, &batch, row).unwrap();
        builder.append_cdr(&bytes).unwrap();
        encoded.push(bytes);
    }
    // A bad message in the middle adds nothing.
    assert!(builder.append_cdr(&encoded[0][..10]).is_err());
    assert_eq!(builder.len(), 5);
    let decoded = builder.finish().unwrap();
    assert_eq!(decoded.len(), 5);
    for (row, expected) in rows.iter().enumerate() {
        assert_eq!(&to_json(&decoded, row), expected);
        assert_eq!(serialize(&message, &decoded, row).unwrap(), encoded[row]);
    }
    assert!(builder.is_empty());
}

#[test]
fn missing_fields_take_msg_defaults() {
    let store = store();
    let message = store.message("dora_demo_msgs/RobotState").unwrap();
    let empty = StructArray::new_empty_fields(1, None);
    let bytes = serialize(&message, &empty, 0).unwrap();
    let row = to_json(&deserialize(&message, &bytes).unwrap(), 0);
    assert_eq!(row["name"], "robot");
    assert_eq!(row["gains"], json!([1.0, 2.5, -3.0]));
    assert_eq!(row["recent_codes"], json!([1, 2]));
    assert_eq!(row["enabled"], true);
    assert_eq!(row["battery"], 0.5);
    assert_eq!(row["pose"]["orientation"]["w"], 1.0);
    assert_eq!(row["wheels"].as_array().unwrap().len(), 4);
    assert_eq!(row["wheels"][3]["temperature"], -1);
    assert_eq!(row["tags"], json!([]));
    // Constants are exposed with their types.
    assert_eq!(message.constant("MODE_AUTO").unwrap().value, Value::Int(2));
    assert_eq!(
        message.constant("KIND").unwrap().value,
        Value::String("demo".into())
    );
}

#[test]
fn fixed_arrays_accept_lists_of_the_right_length() {
    let store = store();
    let message = store.message("sensor_msgs/Imu").unwrap();
    let covariance: Vec<f64> = (0..9).map(f64::from).collect();
    let list = Arc::new(ListArray::new(
        Arc::new(ArrowField::new_list_field(DataType::Float64, true)),
        OffsetBuffer::from_lengths([9]),
        Arc::new(PrimitiveArray::<Float64Type>::from(covariance.clone())),
        None,
    )) as ArrayRef;
    let row = StructArray::new(
        Fields::from(vec![ArrowField::new(
            "orientation_covariance",
            list.data_type().clone(),
            true,
        )]),
        vec![list],
        None,
    );
    let bytes = serialize(&message, &row, 0).unwrap();
    let decoded = to_json(&deserialize(&message, &bytes).unwrap(), 0);
    assert_eq!(decoded["orientation_covariance"], json!(covariance));

    let short = Arc::new(ListArray::new(
        Arc::new(ArrowField::new_list_field(DataType::Float64, true)),
        OffsetBuffer::from_lengths([2]),
        Arc::new(PrimitiveArray::<Float64Type>::from(vec![1.0, 2.0])),
        None,
    )) as ArrayRef;
    let row = StructArray::new(
        Fields::from(vec![ArrowField::new(
            "orientation_covariance",
            short.data_type().clone(),
            true,
        )]),
        vec![short],
        None,
    );
    let err = serialize(&message, &row, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "orientation_covariance: fixed-size array of 9 elements got 2"
    );
}

// ---------------------------------------------------------------------------------------------
// (c) Errors.

#[test]
fn unknown_type_lists_where_it_looked_and_closest_names() {
    let store = store();
    let err = store.message("std_msgs/Strin").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TypeError::Unknown { .. }), "{text}");
    assert!(
        text.contains("unknown ROS 2 type `std_msgs/msg/Strin`"),
        "{text}"
    );
    assert!(text.contains("looked in: "), "{text}");
    assert!(text.contains("ros2_ws"), "{text}");
    assert!(
        text.contains("closest known: std_msgs/msg/String"),
        "{text}"
    );

    let err = store
        .message("geometry_msgs/msg/Twits")
        .unwrap_err()
        .to_string();
    assert!(err.contains("geometry_msgs/msg/Twist"), "{err}");
    let err = store
        .service("example_interfaces/AddTwoInt")
        .unwrap_err()
        .to_string();
    assert!(err.contains("example_interfaces/srv/AddTwoInts"), "{err}");
    let err = store.message("not a type").unwrap_err();
    assert!(matches!(err, TypeError::InvalidName { .. }), "{err}");
}

#[test]
fn lookup_accepts_short_long_and_service_names() {
    let store = store();
    let a = store.message("std_msgs/String").unwrap();
    let b = store.message("std_msgs/msg/String").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.name.dds_name(), "std_msgs::msg::dds_::String_");
    let service = store.service("example_interfaces/AddTwoInts").unwrap();
    assert_eq!(
        service,
        store.service("example_interfaces/srv/AddTwoInts").unwrap()
    );
    assert_eq!(
        service.request.name.to_string(),
        "example_interfaces/srv/AddTwoInts_Request"
    );
    assert_eq!(service.response.fields[0].name, "sum");
    let request = store
        .message("example_interfaces/srv/AddTwoInts_Request")
        .unwrap();
    assert_eq!(request.fields.len(), 2);
    let empty = store.service("std_srvs/Empty").unwrap();
    assert!(empty.request.fields.is_empty() && empty.response.fields.is_empty());
    // Time falls out of its .msg file.
    let time = store.message("builtin_interfaces/Time").unwrap();
    assert_eq!(
        arrow_type(&time),
        DataType::Struct(Fields::from(vec![
            ArrowField::new("sec", DataType::Int32, true),
            ArrowField::new("nanosec", DataType::UInt32, true),
        ]))
    );
}

fn pose_stamped_row(x: ArrayRef) -> StructArray {
    let position = StructArray::new(
        Fields::from(vec![ArrowField::new("x", x.data_type().clone(), true)]),
        vec![x],
        None,
    );
    let pose = StructArray::new(
        Fields::from(vec![ArrowField::new(
            "position",
            position.data_type().clone(),
            true,
        )]),
        vec![Arc::new(position)],
        None,
    );
    StructArray::new(
        Fields::from(vec![ArrowField::new(
            "pose",
            pose.data_type().clone(),
            true,
        )]),
        vec![Arc::new(pose)],
        None,
    )
}

#[test]
fn wrong_arrow_type_names_the_field_path() {
    let store = store();
    let message = store.message("geometry_msgs/PoseStamped").unwrap();
    let row = pose_stamped_row(Arc::new(StringArray::from(vec!["1.0"])));
    let err = serialize(&message, &row, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pose.position.x: expected Float64, got Utf8"
    );
    assert!(matches!(err, SerializeError::WrongType { .. }));
    // The right type passes, other fields take defaults.
    let row = pose_stamped_row(Arc::new(PrimitiveArray::<Float64Type>::from(vec![2.0])));
    let bytes = serialize(&message, &row, 0).unwrap();
    let decoded = to_json(&deserialize(&message, &bytes).unwrap(), 0);
    assert_eq!(decoded["pose"]["position"]["x"], 2.0);
    assert_eq!(decoded["pose"]["orientation"]["w"], 1.0);
}

#[test]
fn unknown_field_is_an_error_with_its_path() {
    let store = store();
    let message = store.message("geometry_msgs/PoseStamped").unwrap();
    let row = pose_stamped_row(Arc::new(PrimitiveArray::<Float64Type>::from(vec![2.0])));
    let bogus = StructArray::new(
        Fields::from(vec![
            ArrowField::new("pose", row.column(0).data_type().clone(), true),
            ArrowField::new("bogus", DataType::Int32, true),
        ]),
        vec![
            row.column(0).clone(),
            Arc::new(PrimitiveArray::<Int32Type>::from(vec![1])),
        ],
        None,
    );
    let err = serialize(&message, &bogus, 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bogus: unknown field of geometry_msgs/msg/PoseStamped"
    );
    let err = serialize(&message, &bogus, 1).unwrap_err();
    assert!(matches!(
        err,
        SerializeError::RowOutOfRange { row: 1, len: 1 }
    ));
}

#[test]
fn bounds_are_enforced_both_ways() {
    let store = store();
    let message = store.message("dora_demo_msgs/RobotState").unwrap();
    let long_name = json!({"name": "a name that is much longer than 32 bytes"});
    let err = serialize(&message, &struct_array(&message, &[&long_name]), 0).unwrap_err();
    assert_eq!(err.to_string(), "name: 40 bytes exceed the bound of 32");
    let codes = json!({"recent_codes": [1, 2, 3, 4, 5, 6, 7, 8, 9]});
    let err = serialize(&message, &struct_array(&message, &[&codes]), 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "recent_codes: 9 elements exceed the bound of 8"
    );
    let tags = json!({"tags": ["ok", "this tag is too long"]});
    let err = serialize(&message, &struct_array(&message, &[&tags]), 0).unwrap_err();
    assert_eq!(err.to_string(), "tags[1]: 20 bytes exceed the bound of 16");

    // A peer that ignores the bound: patch the name of a valid encoding to a longer one.
    let set_mode = store.service("dora_demo_msgs/SetMode").unwrap();
    let long = "x".repeat(65);
    let mut bytes = vec![0, 1, 0, 0, 1, 0, 0, 0];
    bytes.extend_from_slice(&(long.len() as u32 + 1).to_le_bytes());
    bytes.extend_from_slice(long.as_bytes());
    bytes.push(0);
    let err = deserialize(&set_mode.response, &bytes).unwrap_err();
    assert_eq!(err.to_string(), "message: 65 bytes exceed the bound of 64");
}

#[test]
fn malformed_cdr_is_an_error_never_a_panic() {
    let store = store();
    let message = store.message("nav_msgs/Odometry").unwrap();
    let case = cdr_cases()
        .into_iter()
        .find(|(t, _)| *t == "nav_msgs/msg/Odometry")
        .unwrap();
    let good = serialize(&message, &struct_array(&message, &[&case.1]), 0).unwrap();
    for len in 0..good.len() {
        let result = deserialize(&message, &good[..len]);
        assert!(result.is_err(), "prefix of {len} bytes decoded");
    }
    let err = deserialize(&message, &[1, 2, 3, 4, 5]).unwrap_err();
    assert!(matches!(err, DeserializeError::Header { .. }), "{err}");

    // A huge length must not allocate: string length 0xffff_ffff.
    let string_type = store.message("std_msgs/String").unwrap();
    let err =
        deserialize(&string_type, &[0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, b'a', 0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data: length 4294967295 at offset 0 exceeds the 2 bytes left"
    );
    // A huge sequence count in an Image.
    let image = store.message("sensor_msgs/Image").unwrap();
    let mut bytes = serialize(&image, &StructArray::new_empty_fields(1, None), 0).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = deserialize(&image, &bytes).unwrap_err();
    assert!(
        err.to_string().starts_with("data: length 4294967295"),
        "{err}"
    );
    // Invalid UTF-8.
    let err = deserialize(&string_type, &[0, 1, 0, 0, 2, 0, 0, 0, 0xff, 0]).unwrap_err();
    assert_eq!(err.to_string(), "data: string is not valid UTF-8");

    // Deterministic garbage through every shipped message type.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let names: Vec<String> = store
        .known_types()
        .filter(|n| n.namespace == "msg")
        .map(ToString::to_string)
        .collect();
    for name in names {
        let message = store.message(&name).unwrap();
        for _ in 0..50 {
            let len = (next() % 96) as usize;
            let mut bytes: Vec<u8> = vec![0, 1, 0, 0];
            bytes.extend((0..len).map(|_| {
                // Mostly small values so that lengths sometimes fit.
                let r = next();
                if r % 3 == 0 {
                    (r >> 8) as u8
                } else {
                    (r % 4) as u8
                }
            }));
            let _ = deserialize(&message, &bytes);
        }
    }
}

#[test]
fn parse_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let msg_dir = dir.path().join("bad_pkg/msg");
    std::fs::create_dir_all(&msg_dir).unwrap();
    std::fs::write(
        msg_dir.join("Bad.msg"),
        "# comment\nint32 ok\nfloat64[0] broken\n",
    )
    .unwrap();
    std::fs::write(msg_dir.join("Range.msg"), "uint8 small 256\n").unwrap();
    std::fs::write(msg_dir.join("Uses.msg"), "bad_pkg/Missing inner\n").unwrap();
    let store = TypeStore::builder()
        .use_env(false)
        .without_shipped()
        .path(dir.path())
        .build();

    let err = store.message("bad_pkg/Bad").unwrap_err().to_string();
    assert!(
        err.ends_with("Bad.msg:3: array size `0` must be a positive integer"),
        "{err}"
    );
    let err = store.message("bad_pkg/Range").unwrap_err().to_string();
    assert!(
        err.ends_with("Range.msg:1: default of `small`: 256 is out of range for uint8"),
        "{err}"
    );
    let err = store.message("bad_pkg/Uses").unwrap_err().to_string();
    assert!(
        err.contains("unknown ROS 2 type `bad_pkg/msg/Missing` (used by bad_pkg/msg/Uses.inner)"),
        "{err}"
    );
}

#[test]
fn packages_are_found_through_env_and_caller_paths() {
    // The only test that sets these variables; the others build with `use_env(false)`.
    let ament = tempfile::tempdir().unwrap();
    let share = ament.path().join("share/ament_pkg/msg");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("FromAment.msg"), "int32 a\n").unwrap();
    // Overrides the shipped std_msgs/String: AMENT_PREFIX_PATH wins over ros2_ws/.
    std::fs::create_dir_all(ament.path().join("share/std_msgs/msg")).unwrap();
    std::fs::write(
        ament.path().join("share/std_msgs/msg/String.msg"),
        "string data\nint8 extra\n",
    )
    .unwrap();
    let extra = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(extra.path().join("extra_pkg/msg")).unwrap();
    std::fs::write(
        extra.path().join("extra_pkg/msg/FromEnv.msg"),
        "ament_pkg/FromAment inner\n",
    )
    .unwrap();
    let caller = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(caller.path().join("msg")).unwrap();
    std::fs::write(caller.path().join("msg/FromCaller.msg"), "bool b\n").unwrap();

    std::env::set_var("AMENT_PREFIX_PATH", ament.path());
    std::env::set_var(
        "DORA_ROS2_MSG_PATH",
        format!("/nonexistent:{}", extra.path().display()),
    );
    let store = TypeStore::builder().path(caller.path()).build();
    std::env::remove_var("AMENT_PREFIX_PATH");
    std::env::remove_var("DORA_ROS2_MSG_PATH");

    store.message("ament_pkg/FromAment").unwrap();
    let from_env = store.message("extra_pkg/FromEnv").unwrap();
    assert!(matches!(
        from_env.fields[0].ty.element,
        ElementType::Message(_)
    ));
    let caller_pkg = caller
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    // A folder that is itself a package is indexed under its folder name.
    if caller_pkg
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && caller_pkg.starts_with(|c: char| c.is_ascii_lowercase())
    {
        store.message(&format!("{caller_pkg}/FromCaller")).unwrap();
    }
    assert_eq!(store.message("std_msgs/String").unwrap().fields.len(), 2);
    store.message("geometry_msgs/Twist").unwrap();
    let roots = store.search_roots();
    assert_eq!(roots[0], caller.path());
    assert_eq!(roots[1], Path::new("/nonexistent"));
    assert_eq!(roots[2], extra.path());
    assert_eq!(roots[3], ament.path().join("share"));
}

#[test]
fn large_images_round_trip() {
    let store = store();
    let image = store.message("sensor_msgs/Image").unwrap();
    let data: Vec<u8> = (0..921_600u32).map(|i| (i % 256) as u8).collect();
    let value =
        json!({"height": 480, "width": 640, "encoding": "rgb8", "step": 1920, "data": data});
    let row = struct_array(&image, &[&value]);
    let start = std::time::Instant::now();
    let mut builder = MessageBuilder::new(image.clone());
    for _ in 0..20 {
        let bytes = serialize(&image, &row, 0).unwrap();
        builder.append_cdr(&bytes).unwrap();
    }
    let batch = builder.finish().unwrap();
    eprintln!(
        "20 × 921,600-byte Image serialize + deserialize: {:?}",
        start.elapsed()
    );
    assert_eq!(batch.len(), 20);
    let column = batch.column_by_name("data").unwrap().as_list::<i32>();
    assert_eq!(
        column
            .value(19)
            .as_primitive::<UInt8Type>()
            .values()
            .as_ref(),
        &data[..]
    );
}
