//! The ROS 2 launch files parse: the XML is well-formed with the expected actions, the Python
//! file compiles and defines `generate_launch_description`.

use std::process::Command;

use crate::support::repo;

fn python(script: &str) -> String {
    let output = Command::new("python3")
        .args(["-c", script])
        .current_dir(repo().join("launch"))
        .output()
        .expect("running python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn xml_launch_file_is_well_formed_and_runs_dora() {
    let out = python(
        "import xml.etree.ElementTree as ET\n\
         root = ET.parse('dataflow.launch.xml').getroot()\n\
         assert root.tag == 'launch'\n\
         print([e.get('cmd') for e in root.iter('executable')])\n\
         print([a.get('name') for a in root.iter('arg')])",
    );
    assert!(out.contains("dora run $(var dataflow)"), "{out}");
    assert!(out.contains("'dataflow'"), "{out}");
}

#[test]
fn python_launch_file_compiles_and_defines_the_entry_point() {
    let out = python(
        "import ast, py_compile\n\
         py_compile.compile('dataflow.launch.py', doraise=True)\n\
         tree = ast.parse(open('dataflow.launch.py').read())\n\
         print([f.name for f in tree.body if isinstance(f, ast.FunctionDef)])",
    );
    assert!(out.contains("generate_launch_description"), "{out}");
}
