use critlab_physics::{collapse, CollapseData, FssColumns, PhysicsError, Table};

fn cols(dy: bool) -> FssColumns {
    FssColumns { size: "L".into(), x: "p".into(), y: "R".into(), dy: dy.then(|| "dR".into()) }
}

fn load(csv: &str, dy: bool) -> Result<CollapseData, PhysicsError> {
    CollapseData::from_table(&Table::from_csv_str(csv, "t.csv").unwrap(), &cols(dy))
}

#[test]
fn missing_column_is_named_with_the_available_ones() {
    let e = load("L,p,A\n8,0.5,0.1\n", false).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PhysicsError::MissingColumn { ref name, .. } if name == "R"), "{e:?}");
    assert!(msg.contains("`R`") && msg.contains("L, p, A"), "{msg}");
}

#[test]
fn one_size_only_is_rejected() {
    let e = load("L,p,R\n8,0.5,0.1\n8,0.6,0.2\n8,0.7,0.3\n", false).unwrap();
    let err = collapse::fit(&e, &Default::default()).unwrap_err();
    assert!(matches!(err, PhysicsError::TooFewSizes { found: 1, needed: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("found 1 (8)"), "{err}");
}

#[test]
fn non_positive_dy_names_its_line() {
    let e = load("L,p,R,dR\n8,0.5,0.1,0.01\n16,0.5,0.2,0\n", true).unwrap_err();
    assert!(matches!(e, PhysicsError::NonPositiveUncertainty { line: 3, ref column, .. } if column == "dR"), "{e:?}");
    assert!(e.to_string().contains("line 3"));
}

#[test]
fn nan_and_inf_name_line_and_column() {
    let e = load("L,p,R\n8,0.5,0.1\n16,NaN,0.2\n", false).unwrap_err();
    assert!(matches!(e, PhysicsError::NonFinite { line: 3, ref column, .. } if column == "p"), "{e:?}");
    let e = load("L,p,R\n8,0.5,inf\n", false).unwrap_err();
    assert!(matches!(e, PhysicsError::NonFinite { line: 2, ref column, .. } if column == "R"), "{e:?}");
    let e = load("L,p,R\n8,0.5,abc\n", false).unwrap_err();
    assert!(matches!(e, PhysicsError::NotANumber { line: 2, .. }), "{e:?}");
}

#[test]
fn too_few_points_and_ragged_rows() {
    let e = load("L,p,R\n8,0.5,0.1\n8,0.6,0.1\n16,0.5,0.2\n16,0.6,0.3\n", false).unwrap();
    let err = collapse::fit(&e, &Default::default()).unwrap_err();
    assert!(matches!(err, PhysicsError::TooFewPoints { found: 2, needed: 3, .. }), "{err:?}");
    let err = Table::from_csv_str("L,p,R\n8,0.5\n", "t.csv").unwrap_err();
    assert!(matches!(err, PhysicsError::RaggedRow { line: 2, found: 2, expected: 3, .. }), "{err:?}");
    assert!(Table::from_csv_str("L,p,R\n", "t.csv").is_err());
    let e = load("L,p,R\n0,0.5,0.1\n", false).unwrap_err();
    assert!(matches!(e, PhysicsError::NonPositiveSize { line: 2, .. }), "{e:?}");
}
