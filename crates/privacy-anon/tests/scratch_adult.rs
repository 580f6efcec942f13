use std::path::Path;
use privacy_anon::*;
use privacy_anon::encode::*;

#[test]
fn adult_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/adult");
    let frame = privacy_dp::read_table(&root.join("adult.csv"), Default::default()).unwrap();
    let qis = ["sex","age","race","marital-status","education","native-country","workclass","occupation"];
    let quasi = qis.iter().map(|q| {
        let text = column_text(&frame, q).unwrap();
        let h = Hierarchy::from_csv_file(q, &root.join(format!("hierarchies/adult_hierarchy_{q}.csv"))).unwrap();
        encode_column(&text, h, MissingPolicy::Refuse).unwrap()
    }).collect();
    let table = EncodedTable { rows: frame.height(), quasi, sensitive: vec![], population: None };
    let models = CompiledModels::compile(&[PrivacyModel::KAnonymity{k:5}], &table, 1206).unwrap();
    let metric = MetricTables::new(Metric::Loss, &table);
    let t = std::time::Instant::now();
    let p = Problem::new(&table, &models, &metric, 1206);
    let out = p.optimal().unwrap();
    eprintln!("{:?} {:?}", out, t.elapsed());
    let g = p.groups(&[0,3,0,0,2,1,1,2]);
    let (r, _) = p.judge(&g, &[0,3,0,0,2,1,1,2]);
    eprintln!("arx node {:?}", r);
    let models0 = CompiledModels::compile(&[PrivacyModel::KAnonymity{k:5}], &table, 0).unwrap();
    let t = std::time::Instant::now();
    let p = Problem::new(&table, &models0, &metric, 0);
    let out = p.optimal().unwrap();
    eprintln!("nosup {:?} {:?}", out, t.elapsed());
}
