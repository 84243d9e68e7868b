<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>AccuracyAlgorithm</name>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="26"/>
        <source>{0} is not a vector layer QGIS can read.</source>
        <translation>{0} は QGIS で読めるベクター レイヤーではありません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="48"/>
        <source>The engine finished without writing {0}</source>
        <translation>エンジンは {0} を書き出さずに終了しました</translation>
    </message>
</context>
<context>
    <name>AutoDL</name>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="269"/>
        <source>no candidate gave a model within the time limit; give more time or lighter networks ({reasons})</source>
        <translation>時間制限内にモデルを得られた候補がありません。時間を増やすか、より軽いネットワークを選んでください ({reasons})</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="271"/>
        <source>every candidate failed ({reasons})</source>
        <translation>すべての候補が失敗しました ({reasons})</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="274"/>
        <source>best: {network} ({backbone}) {metric_name} {metric:.4f}</source>
        <translation>最良: {network} ({backbone}) {metric_name} {metric:.4f}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="384"/>
        <source>{key} {network} ({backbone}): {status}{reason}</source>
        <translation>{key} {network} ({backbone}): {status}{reason}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="386"/>
        <source>{key} {network} ({backbone}): {status}, {metric_name} {metric:.4f} after {seconds:.0f} training s{reason}</source>
        <translation>{key} {network} ({backbone}): {status}、トレーニング {seconds:.0f} 秒で {metric_name} {metric:.4f}{reason}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="338"/>
        <source>{key}: {network} ({backbone}, scale {scale:g}) for {seconds:.0f} training seconds</source>
        <translation>{key}: {network} ({backbone}、スケール {scale:g}) を {seconds:.0f} 秒間トレーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="191"/>
        <source>skipping {name}: {reason}</source>
        <translation>{name} をスキップします: {reason}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="250"/>
        <source>AutoDL {mode}: {count} candidate(s), {hours:.3g} h, device {device}, {chips} chips ({format}; {split} split: {train} train, {validation} validation, {test} test); record in {record}</source>
        <translation>AutoDL {mode}: 候補 {count} 個、{hours:.3g} 時間、デバイス {device}、チップ {chips} 枚 ({format}; {split} 分割: トレーニング {train}、検証 {validation}、テスト {test}); 記録: {record}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="178"/>
        <source>writing the model package (best weights, report, leaderboard)</source>
        <translation>モデル パッケージを書き出しています (最良の重み、レポート、リーダーボード)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="96"/>
        <source>{folder}: {chips} chips, {classes} classes ({skipped} windows without features skipped)</source>
        <translation>{folder}: チップ {chips} 枚、クラス {classes} 個 (フィーチャのないウィンドウ {skipped} 個をスキップ)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="202"/>
        <source>{path}: {network} ({backbone}), validation {metric_name} {metric:.4f}; predicts {how} by default</source>
        <translation>{path}: {network} ({backbone})、検証 {metric_name} {metric:.4f}。既定で{how}予測します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="202"/>
        <source>{path}: {network} ({backbone}), validation {metric_name} {metric:.4f}, test {test:.4f}; predicts {how} by default</source>
        <translation>{path}: {network} ({backbone})、検証 {metric_name} {metric:.4f}、テスト {test:.4f}。既定で{how}予測します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="291"/>
        <source>{path}: {objects} object(s) from {tiles} tile(s)</source>
        <translation>{path}: タイル {tiles} 個からオブジェクト {objects} 個</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="296"/>
        <source>{path}: {tiles} tile(s) classified</source>
        <translation>{path}: タイル {tiles} 個を分類しました</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="307"/>
        <source>{path}: ONNX graph of {network} ({backbone}) with Deepness&apos; metadata</source>
        <translation>{path}: {network} ({backbone}) の ONNX グラフ (Deepness のメタデータ付き)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/cli.py" line="402"/>
        <source>the AutoDL engine is ready: {python}</source>
        <translation>AutoDL エンジンの準備ができました: {python}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/candidate.py" line="95"/>
        <source>warning: {note}</source>
        <translation>警告: {note}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/autodl.py" line="520"/>
        <source>stopped after {seconds:.0f} training seconds: the time leaves room for challengers</source>
        <translation>{seconds:.0f} 秒のトレーニングで停止: 残り時間で他の候補を試せます</translation>
    </message>
</context>
<context>
    <name>AutodlAlgorithm</name>
    <message>
        <location filename="../autodl_qgis/processing/algorithm.py" line="45"/>
        <source>Deep learning</source>
        <translation>ディープ ラーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/algorithm.py" line="58"/>
        <source>Device</source>
        <translation>デバイス</translation>
    </message>
</context>
<context>
    <name>AutodlPlugin</name>
    <message>
        <location filename="../autodl_qgis/plugin.py" line="95"/>
        <source>AutoDL</source>
        <translation>AutoDL</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/plugin.py" line="95"/>
        <source>The AutoDL algorithms need it: install it into your QGIS profile (minutes, several GB, no administrator rights).</source>
        <translation>AutoDL のアルゴリズムにはこれが必要です。QGIS のプロファイルにインストールしてください (数分、数 GB、管理者権限は不要です)。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/plugin.py" line="100"/>
        <source>Install AutoDL Engine…</source>
        <translation>AutoDL エンジンのインストール…</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/plugin.py" line="40"/>
        <source>Checking the AutoDL engine</source>
        <translation>AutoDL エンジンを確認しています</translation>
    </message>
</context>
<context>
    <name>AutodlProvider</name>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="32"/>
        <source>AutoDL</source>
        <translation>AutoDL</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="35"/>
        <source>AutoDL: deep learning for rasters</source>
        <translation>AutoDL: ラスターのためのディープ ラーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="47"/>
        <source>Python that runs the AutoDL engine (empty: found automatically; now {0}). Install AutoDL Engine sets it</source>
        <translation>AutoDL エンジンを実行する Python (空欄: 自動検出、現在は {0})。AutoDL エンジンのインストールが設定します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="47"/>
        <source>none found</source>
        <translation>見つかりません</translation>
    </message>
</context>
<context>
    <name>ClassifyPixelsUsingDeepLearning</name>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="20"/>
        <source>Classify Pixels Using Deep Learning</source>
        <translation>ディープ ラーニングを使用したピクセル分類</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="23"/>
        <source>deep learning,pixel classification,segmentation,land cover,inference,dlpk</source>
        <translation>ディープ ラーニング,ピクセル分類,セグメンテーション,土地被覆,推論,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="26"/>
        <source>Runs a trained pixel classification model on a raster and writes a single-band GeoTIFF of class values on the raster&apos;s grid, with the model&apos;s class colours; 0 is NoData (background and pixels outside the extent or mask).

&lt;b&gt;Output Classified Raster&lt;/b&gt; (out_classified_raster): a GeoTIFF file.
</source>
        <translation>学習済みのピクセル分類モデルをラスターに適用し、ラスターと同じグリッドでクラス値の単バンド GeoTIFF を、モデルのクラスの色で書き出します。0 は NoData (背景、および範囲やマスクの外のピクセル) です。

&lt;b&gt;出力分類ラスター&lt;/b&gt; (out_classified_raster): GeoTIFF ファイル。
</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="40"/>
        <source>Output Classified Raster</source>
        <translation>出力分類ラスター</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="31"/>
        <source>
&lt;b&gt;Blend Overlap&lt;/b&gt; (blend_overlap, advanced): instead of taking each pixel from the one tile whose centre holds it, add up the class probabilities of every tile covering it, each weighted by a window that falls linearly to the tile&apos;s edges over the overlap, and take the most probable class. It costs no extra work per tile, only memory for the probabilities of one row of tiles (256 MB at most, unless the model has hundreds of classes or very large tiles). Our own tools only: the model&apos;s ArcGIS Pro function gets one block at a time.</source>
        <translation>
&lt;b&gt;オーバーラップのブレンド&lt;/b&gt; (blend_overlap、詳細設定): 各ピクセルを、中央部分にそのピクセルを含むタイル 1 つから取る代わりに、そのピクセルを覆うすべてのタイルのクラス確率を、オーバーラップの範囲でタイルの端に向かって直線的に小さくなる重みで足し合わせ、最も確率の高いクラスを採ります。タイルごとの処理は増えず、タイル 1 行分のクラス確率を保持するメモリだけが必要です (クラスが数百あるモデルや非常に大きなタイルでない限り最大 256 MB)。このプラグインのツールのみ: モデルの ArcGIS Pro 用の関数は一度に 1 ブロックしか受け取りません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="43"/>
        <source>Blend Overlap</source>
        <translation>オーバーラップのブレンド</translation>
    </message>
</context>
<context>
    <name>ComputeAccuracyForObjectDetection</name>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="64"/>
        <source>Compute Accuracy For Object Detection</source>
        <translation>オブジェクト検出精度の計算</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="67"/>
        <source>deep learning,object detection,accuracy,precision,recall,average precision</source>
        <translation>ディープ ラーニング,オブジェクト検出,精度,適合率,再現率,平均適合率</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="70"/>
        <source>Compares the objects found by Detect Objects Using Deep Learning with ground-truth polygons and writes a table with one row per class and one for all classes: Precision, Recall, F1_Score, AP (average precision at the IoU threshold), True_Positive, False_Positive and False_Negative. A detection is a true positive when it overlaps a ground-truth object of its class at least by the IoU threshold; each object is matched once, by the most confident detection.

&lt;b&gt;Detected Features&lt;/b&gt; (detected_features): polygons from Detect Objects (its Confidence field orders them for AP).
&lt;b&gt;Ground Truth Features&lt;/b&gt; (ground_truth_features): polygons of the real objects.
&lt;b&gt;Output Accuracy Table&lt;/b&gt; (out_accuracy_table): a GeoPackage or CSV table.
&lt;b&gt;Detected Class Value Field&lt;/b&gt; (detected_class_value_field) and &lt;b&gt;Ground Truth Class Value Field&lt;/b&gt; (ground_truth_class_value_field): the class values or names; Classvalue or Value when not given, and without either every feature is one class.
&lt;b&gt;Minimum Intersection Over Union (IoU)&lt;/b&gt; (min_iou): 0.5 by default.</source>
        <translation>「ディープ ラーニングを使用したオブジェクトの検出」で検出されたオブジェクトをグラウンド トゥルースのポリゴンと比較し、クラスごとの行とすべてのクラスの行を持つテーブルを書き出します: Precision、Recall、F1_Score、AP (IoU のしきい値における平均適合率)、True_Positive、False_Positive、False_Negative。検出が同じクラスのグラウンド トゥルース オブジェクトと IoU のしきい値以上重なる場合に真陽性となります。各オブジェクトは、最も信頼度の高い検出と 1 回だけ対応付けられます。

&lt;b&gt;検出されたフィーチャ&lt;/b&gt; (detected_features): オブジェクトの検出によるポリゴン (Confidence フィールドで AP の順位が決まります)。
&lt;b&gt;グラウンド トゥルース フィーチャ&lt;/b&gt; (ground_truth_features): 実際のオブジェクトのポリゴン。
&lt;b&gt;出力精度テーブル&lt;/b&gt; (out_accuracy_table): GeoPackage または CSV のテーブル。
&lt;b&gt;検出されたクラス値フィールド&lt;/b&gt; (detected_class_value_field) と &lt;b&gt;グラウンド トゥルース クラス値フィールド&lt;/b&gt; (ground_truth_class_value_field): クラス値またはクラス名。指定しない場合は Classvalue または Value フィールドが使用され、どちらもない場合はすべてのフィーチャが 1 つのクラスになります。
&lt;b&gt;最小 IoU (Intersection over Union)&lt;/b&gt; (min_iou): デフォルトは 0.5 です。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="86"/>
        <source>Detected Features</source>
        <translation>検出されたフィーチャ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="88"/>
        <source>Ground Truth Features</source>
        <translation>グラウンド トゥルース フィーチャ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="90"/>
        <source>Output Accuracy Table</source>
        <translation>出力精度テーブル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="92"/>
        <source>Detected Class Value Field</source>
        <translation>検出されたクラス値フィールド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="95"/>
        <source>Ground Truth Class Value Field</source>
        <translation>グラウンド トゥルース クラス値フィールド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_object_detection.py" line="98"/>
        <source>Minimum Intersection Over Union (IoU)</source>
        <translation>最小 IoU (Intersection over Union)</translation>
    </message>
</context>
<context>
    <name>ComputeAccuracyForPixelClassification</name>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="26"/>
        <source>Compute Accuracy For Pixel Classification</source>
        <translation>ピクセル分類精度の計算</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="29"/>
        <source>deep learning,pixel classification,accuracy,confusion matrix,kappa,IoU</source>
        <translation>ディープ ラーニング,ピクセル分類,精度,混同行列,カッパ,IoU</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="32"/>
        <source>Compares a classified raster (e.g. from Classify Pixels Using Deep Learning) with reference data at random points and writes the confusion matrix as a table: a row per classified value (C_1, C_2, …) with its counts against each reference value, Total, U_Accuracy (user's accuracy) and IoU; then the Total, P_Accuracy (producer's accuracy, with the overall accuracy) and Kappa rows.

&lt;b&gt;Input Raster&lt;/b&gt; (in_raster): the classified raster.
&lt;b&gt;Ground Truth Data&lt;/b&gt; (in_ground_truth_data): a class raster, polygons, or points with class values (Classvalue, Value or GrndTruth unless a field is given). Reference NoData and 0 are never sampled.
&lt;b&gt;Output Confusion Matrix&lt;/b&gt; (out_confusion_matrix): a GeoPackage or CSV table.
&lt;b&gt;Number of Random Points&lt;/b&gt; (num_random_points): 500 by default; points given as ground truth are used as they are.
&lt;b&gt;Sampling Strategy&lt;/b&gt; (sampling): STRATIFIED_RANDOM (points per class in proportion to its area), EQUALIZED_STRATIFIED_RANDOM (the same number per class) or RANDOM.
&lt;b&gt;Minimum Point Distance&lt;/b&gt; (min_point_distance): in map units, 0 by default.</source>
        <translation>分類済みラスター (「ディープ ラーニングを使用したピクセル分類」の出力など) をランダム ポイントで参照データと比較し、混同行列をテーブルとして書き出します: 分類値ごとの行 (C_1、C_2、…) に各参照値との件数、Total、U_Accuracy (ユーザー精度)、IoU を持ち、続いて Total、P_Accuracy (プロデューサー精度と全体の精度)、Kappa の行があります。

&lt;b&gt;入力ラスター&lt;/b&gt; (in_raster): 分類済みラスター。
&lt;b&gt;グラウンド トゥルース データ&lt;/b&gt; (in_ground_truth_data): クラス ラスター、ポリゴン、またはクラス値を持つポイント (フィールドを指定しない場合は Classvalue、Value、GrndTruth)。参照データの NoData と 0 はサンプリングされません。
&lt;b&gt;出力混同行列&lt;/b&gt; (out_confusion_matrix): GeoPackage または CSV のテーブル。
&lt;b&gt;ランダム ポイント数&lt;/b&gt; (num_random_points): デフォルトは 500 です。グラウンド トゥルースとして与えたポイントはそのまま使用されます。
&lt;b&gt;サンプリング処理&lt;/b&gt; (sampling): STRATIFIED_RANDOM (クラスの面積に比例したポイント数)、EQUALIZED_STRATIFIED_RANDOM (各クラス同数)、または RANDOM。
&lt;b&gt;最小ポイント間距離&lt;/b&gt; (min_point_distance): マップ単位。デフォルトは 0 です。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="48"/>
        <source>Input Raster</source>
        <translation>入力ラスター</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="49"/>
        <source>Ground Truth Data</source>
        <translation>グラウンド トゥルース データ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="52"/>
        <source>Output Confusion Matrix</source>
        <translation>出力混同行列</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="54"/>
        <source>Number of Random Points</source>
        <translation>ランダム ポイント数</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="56"/>
        <source>Sampling Strategy</source>
        <translation>サンプリング処理</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="59"/>
        <source>Minimum Point Distance</source>
        <translation>最小ポイント間距離</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="64"/>
        <source>Ground Truth Class Value Field</source>
        <translation>グラウンド トゥルース クラス値フィールド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="70"/>
        <source>The input raster must be a raster layer GDAL reads.</source>
        <translation>入力ラスターは GDAL で読めるラスター レイヤーである必要があります。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/compute_accuracy_for_pixel_classification.py" line="74"/>
        <source>The ground truth raster must be a raster layer GDAL reads.</source>
        <translation>グラウンド トゥルースのラスターは GDAL で読めるラスター レイヤーである必要があります。</translation>
    </message>
</context>
<context>
    <name>DetectObjectsUsingDeepLearning</name>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="20"/>
        <source>Detect Objects Using Deep Learning</source>
        <translation>ディープ ラーニングを使用したオブジェクトの検出</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="23"/>
        <source>deep learning,object detection,inference,dlpk</source>
        <translation>ディープ ラーニング,オブジェクト検出,推論,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="42"/>
        <source>Output Detected Objects</source>
        <translation>出力検出オブジェクト</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="44"/>
        <source>Threshold</source>
        <translation>しきい値</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="47"/>
        <source>Max Overlap Ratio</source>
        <translation>最大オーバーラップ率</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="26"/>
        <source>Runs a trained object detection model on a raster and writes the objects it finds as polygons in the raster&apos;s coordinate reference system, with their class name (Class), class value (ClassValue) and confidence (Confidence). Objects found twice where tiles overlap are kept once: each tile keeps the objects whose centre lies in its centre part (blending whole tiles, as Classify Pixels can, kept boxes cut by tile edges beside the whole object).

&lt;b&gt;Output Detected Objects&lt;/b&gt; (out_detected_objects): a GeoPackage, Shapefile, GeoJSON or FlatGeobuf file.
&lt;b&gt;Threshold&lt;/b&gt; (threshold): the lowest confidence kept. Not set (the default): the model&apos;s own threshold, where its F1 (precision and recall together) was highest on its validation chips; 0.5 for models that do not record one.
&lt;b&gt;Max Overlap Ratio&lt;/b&gt; (max_overlap_ratio): two objects of one class overlapping more than this (intersection over union) are one object; the more confident is kept.
</source>
        <translation>学習済みのオブジェクト検出モデルをラスターに適用し、見つかったオブジェクトをラスターの座標参照系のポリゴンとして、クラス名 (Class)、クラス値 (ClassValue)、信頼度 (Confidence) とともに書き出します。タイルの重なりで二重に見つかったオブジェクトは 1 つだけ残ります。各タイルからは、中心がタイルの中央部分にあるオブジェクトだけを採ります (「ディープ ラーニングを使用したピクセル分類」のようにタイル全体をブレンドすると、タイルの端で切れたボックスがオブジェクト全体のボックスと並んで残りました)。

&lt;b&gt;出力検出オブジェクト&lt;/b&gt; (out_detected_objects): GeoPackage、Shapefile、GeoJSON または FlatGeobuf ファイル。
&lt;b&gt;しきい値&lt;/b&gt; (threshold): 残す最低の信頼度。未設定 (既定): モデル自身のしきい値 (検証チップで F1 (適合率と再現率の両方) が最も高かった値。記録のないモデルでは 0.5)。
&lt;b&gt;最大オーバーラップ率&lt;/b&gt; (max_overlap_ratio): 同じクラスの 2 つのオブジェクトの重なり (IoU) がこの値を超えると 1 つとみなし、信頼度の高い方を残します。
</translation>
    </message>
</context>
<context>
    <name>EngineProcess</name>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="206"/>
        <source>a crash in a compiled library</source>
        <translation>コンパイル済みライブラリ内のクラッシュ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="207"/>
        <source>killed, often by the system when memory runs out</source>
        <translation>強制終了 (多くはメモリ不足によりシステムが終了)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="208"/>
        <source>aborted by a compiled library</source>
        <translation>コンパイル済みライブラリによる中断</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="211"/>
        <source>exit code {0}</source>
        <translation>終了コード {0}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="213"/>
        <source>The AutoDL engine stopped unexpectedly ({0}). QGIS and existing outputs are untouched; nothing was written.</source>
        <translation>AutoDL エンジンが予期せず停止しました ({0})。QGIS と既存の出力には影響ありません。何も書き込まれていません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="217"/>
        <source>Last output</source>
        <translation>最後の出力</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="241"/>
        <source>AutoDL engine process {0} started</source>
        <translation>AutoDL エンジン プロセス {0} を開始しました</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="284"/>
        <source>Cancelled: nothing was written.</source>
        <translation>キャンセルしました。何も書き込まれていません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="243"/>
        <source>Starting the engine…</source>
        <translation>エンジンを起動しています…</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="63"/>
        <source>Run &quot;Install AutoDL Engine&quot; from the Processing Toolbox (AutoDL › Deep learning), or set Settings › Options › Processing › Providers › AutoDL › Python.</source>
        <translation>プロセッシング ツールボックス (AutoDL › ディープ ラーニング) の「AutoDL エンジンのインストール」を実行するか、設定 › オプション › プロセッシング › プロバイダ › AutoDL › Python を設定してください。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="229"/>
        <source>No Python was found to run the AutoDL engine.</source>
        <translation>AutoDL エンジンを実行する Python が見つかりません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="74"/>
        <source>The AutoDL engine in {0} was installed for an earlier version of this plugin: update it.</source>
        <translation>{0} の AutoDL エンジンはこのプラグインの以前のバージョン用にインストールされています。更新してください。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="82"/>
        <source>The AutoDL engine (PyTorch and the model libraries) is not installed in {0}.</source>
        <translation>AutoDL エンジン (PyTorch とモデル ライブラリ) が {0} にインストールされていません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="214"/>
        <source>If it stops like this at every run, run &quot;Install AutoDL Engine&quot; from the Processing Toolbox (AutoDL › Deep learning) to check and repair the engine.</source>
        <translation>実行のたびにこのように停止する場合は、プロセッシング ツールボックス (AutoDL › ディープ ラーニング) の「AutoDL エンジンのインストール」を実行して、エンジンを確認、修復してください。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="232"/>
        <source>The AutoDL engine in {0} was installed for an earlier version of this plugin. Run &quot;Install AutoDL Engine&quot; from the Processing Toolbox (AutoDL › Deep learning) to update it.</source>
        <translation>{0} の AutoDL エンジンはこのプラグインの以前のバージョン用にインストールされています。プロセッシング ツールボックス (AutoDL › ディープ ラーニング) の「AutoDL エンジンのインストール」を実行して更新してください。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/engine_process.py" line="185"/>
        <source>The Python that runs the AutoDL engine cannot be started ({0}: {1}).</source>
        <translation>AutoDL エンジンを実行する Python を起動できません ({0}: {1})。</translation>
    </message>
</context>
<context>
    <name>Export</name>
    <message>
        <location filename="../autodl_qgis/engine/data/export.py" line="83"/>
        <source>window {number} of {total}</source>
        <translation>ウィンドウ {number} / {total}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/data/export.py" line="97"/>
        <source>{chips} chips written, {skipped} empty windows skipped</source>
        <translation>{chips} 個のチップを書き出し、空のウィンドウ {skipped} 個をスキップしました</translation>
    </message>
</context>
<context>
    <name>ExportModelToOnnx</name>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="20"/>
        <source>Export Model To ONNX</source>
        <translation>モデルを ONNX にエクスポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="23"/>
        <source>deep learning,onnx,deepness,onnxruntime,export,dlpk</source>
        <translation>ディープ ラーニング,onnx,deepness,onnxruntime,エクスポート,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="26"/>
        <source>Writes the network of a model trained with AutoDL as an ONNX file, with the metadata the Deepness plugin reads (model type, class names, tile size and overlap, standardisation), for Deepness or any onnxruntime user.

&lt;b&gt;Model Definition&lt;/b&gt; (in_model_definition): a .dlpk trained with AutoDL.
&lt;b&gt;Resolution (cm per pixel)&lt;/b&gt; (resolution): the ground resolution of the training imagery, which Deepness rescales rasters to; 0 leaves it out (Deepness then asks for it).
&lt;b&gt;Output ONNX&lt;/b&gt; (out_onnx): the .onnx file.

Pixel classifiers give class probabilities per pixel (Deepness: Segmentor); object detectors give Deepness&apos; YOLO_v5_v7_DEFAULT layout (Detector). Networks whose graph cannot be exported end with that reason; they still run in this plugin&apos;s Detect Objects and Classify Pixels.</source>
        <translation>AutoDL でトレーニングしたモデルのネットワークを、Deepness プラグインが読み込むメタデータ (モデルの種類、クラス名、タイル サイズとオーバーラップ、標準化) 付きの ONNX ファイルとして書き出します。Deepness や onnxruntime で利用できます。

&lt;b&gt;モデル定義&lt;/b&gt; (in_model_definition): AutoDL でトレーニングした .dlpk。
&lt;b&gt;解像度 (cm/ピクセル)&lt;/b&gt; (resolution): トレーニング画像の地上解像度。Deepness はラスターをこの解像度に変換します。0 の場合は含めません (Deepness が入力を求めます)。
&lt;b&gt;出力 ONNX&lt;/b&gt; (out_onnx): .onnx ファイル。

ピクセル分類モデルはピクセルごとのクラス確率を出力し (Deepness: Segmentor)、オブジェクト検出モデルは Deepness の YOLO_v5_v7_DEFAULT 形式を出力します (Detector)。グラフをエクスポートできないネットワークはその理由を示して終了しますが、このプラグインの「ディープ ラーニングを使用したオブジェクトの検出」と「ディープ ラーニングを使用したピクセル分類」では引き続き使用できます。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="39"/>
        <source>Model Definition</source>
        <translation>モデル定義</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="39"/>
        <source>Deep learning package (*.dlpk)</source>
        <translation>ディープ ラーニング パッケージ (*.dlpk)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="42"/>
        <source>Resolution (cm per pixel)</source>
        <translation>解像度 (cm/ピクセル)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="45"/>
        <source>Output ONNX</source>
        <translation>出力 ONNX</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="45"/>
        <source>ONNX model (*.onnx)</source>
        <translation>ONNX モデル (*.onnx)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_model_to_onnx.py" line="59"/>
        <source>The engine finished without writing {0}</source>
        <translation>エンジンは {0} を書き込まずに終了しました</translation>
    </message>
</context>
<context>
    <name>ExportTrainingDataForDeepLearning</name>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="29"/>
        <source>Export Training Data For Deep Learning</source>
        <translation>ディープ ラーニング用のトレーニング データをエクスポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="32"/>
        <source>deep learning,training data,chips,labels,export</source>
        <translation>ディープ ラーニング,トレーニング データ,チップ,ラベル,エクスポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="35"/>
        <source>Cuts a raster into image chips and writes the labels of each chip, in the folder layout of ArcGIS&apos; Export Training Data For Deep Learning, which Train Using AutoDL (here or in ArcGIS) reads.

&lt;b&gt;Input Raster&lt;/b&gt; (in_raster): the georeferenced imagery.
&lt;b&gt;Output Folder&lt;/b&gt; (out_folder): a new or empty folder.
&lt;b&gt;Input Class Data&lt;/b&gt; (in_class_data): a vector layer of labelled features (polygons; points and lines with a buffer radius) or a classified raster (Classified_Tiles only; 0 is background).
&lt;b&gt;Class Value Field&lt;/b&gt; (class_value_field): the field holding each feature&apos;s class: whole numbers (named by a Classname field when there is one) or names.
&lt;b&gt;Image Format&lt;/b&gt; (image_chip_format): TIFF, PNG or JPEG chips.
&lt;b&gt;Tile Size&lt;/b&gt; (tile_size) and &lt;b&gt;Stride&lt;/b&gt; (stride): chip size and step in pixels; a stride below the tile size makes overlapping chips.
&lt;b&gt;Output No Feature Tiles&lt;/b&gt; (output_nofeature_tiles): ALL_TILES keeps chips without features (the model learns what is not an object); ONLY_TILES_WITH_FEATURES skips them.
&lt;b&gt;Metadata Format&lt;/b&gt; (metadata_format): Classified_Tiles for pixel classification; PASCAL_VOC_rectangles or KITTI_rectangles for object detection; RCNN_Masks for instance masks.
&lt;b&gt;Buffer Radius&lt;/b&gt; (buffer_radius): in map units, turns points and lines into polygons.</source>
        <translation>ラスターを画像チップに切り出し、各チップのラベルを ArcGIS の「ディープ ラーニング用のトレーニング データをエクスポート」と同じフォルダー構成で書き出します。「AutoDL を使用したトレーニング」 (この環境でも ArcGIS でも) がそのまま読めます。

&lt;b&gt;入力ラスター&lt;/b&gt; (in_raster): ジオリファレンスされた画像。
&lt;b&gt;出力フォルダー&lt;/b&gt; (out_folder): 新規または空のフォルダー。
&lt;b&gt;入力クラス データ&lt;/b&gt; (in_class_data): ラベル付きフィーチャのベクター レイヤー (ポリゴン。ポイントとラインはバッファー半径を指定) または分類ラスター (Classified_Tiles のみ。0 は背景)。
&lt;b&gt;クラス値フィールド&lt;/b&gt; (class_value_field): 各フィーチャのクラスを持つフィールド。整数 (Classname フィールドがあればその名前) または名前。
&lt;b&gt;画像形式&lt;/b&gt; (image_chip_format): TIFF、PNG、JPEG のチップ。
&lt;b&gt;タイル サイズ&lt;/b&gt; (tile_size) と &lt;b&gt;ストライド&lt;/b&gt; (stride): チップのサイズと移動量 (ピクセル)。ストライドがタイル サイズより小さいとチップが重なります。
&lt;b&gt;フィーチャなしのタイルの出力&lt;/b&gt; (output_nofeature_tiles): ALL_TILES はフィーチャのないチップも残します (モデルがオブジェクトでないものを学習します)。ONLY_TILES_WITH_FEATURES はそれらをスキップします。
&lt;b&gt;メタデータ形式&lt;/b&gt; (metadata_format): ピクセル分類には Classified_Tiles、オブジェクト検出には PASCAL_VOC_rectangles または KITTI_rectangles、インスタンス マスクには RCNN_Masks。
&lt;b&gt;バッファー半径&lt;/b&gt; (buffer_radius): マップ単位。ポイントとラインをポリゴンにします。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="54"/>
        <source>Input Raster</source>
        <translation>入力ラスター</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="55"/>
        <source>Output Folder</source>
        <translation>出力フォルダー</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="56"/>
        <source>Input Class Data</source>
        <translation>入力クラス データ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="57"/>
        <source>Class Value Field</source>
        <translation>クラス値フィールド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="60"/>
        <source>Image Format</source>
        <translation>画像形式</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="63"/>
        <source>Tile Size</source>
        <translation>タイル サイズ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="65"/>
        <source>Stride</source>
        <translation>ストライド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="67"/>
        <source>Output No Feature Tiles</source>
        <translation>フィーチャなしのタイルの出力</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="70"/>
        <source>Metadata Format</source>
        <translation>メタデータ形式</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="73"/>
        <source>Buffer Radius</source>
        <translation>バッファー半径</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="82"/>
        <source>The input class data is not a layer QGIS can open.</source>
        <translation>入力クラス データは QGIS で開けるレイヤーではありません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="88"/>
        <source>The classified raster must be a raster GDAL reads.</source>
        <translation>分類ラスターは GDAL で読めるラスターである必要があります。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="94"/>
        <source>Could not copy the class data: {0}</source>
        <translation>クラス データをコピーできませんでした: {0}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="100"/>
        <source>The input raster must be a raster layer GDAL reads.</source>
        <translation>入力ラスターは GDAL で読めるラスター レイヤーである必要があります。</translation>
    </message>
</context>
<context>
    <name>Inference</name>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="114"/>
        <source>{what}: tile {number} of {total}</source>
        <translation>{what}: タイル {number} / {total}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="150"/>
        <source>predicting each tile over its eight flips and quarter turns, as the model was chosen to (it validated higher so); turn test-time augmentation off for an eighth of the work</source>
        <translation>モデルが学習時に選んだとおり (検証でより高かったため)、各タイルを 8 通りの反転と 90 度回転で予測します。テスト時の拡張をオフにすると処理量は 8 分の 1 になります</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="287"/>
        <source>keeping objects from confidence {confidence:.2f}, the model&apos;s threshold (where its F1 was highest on its validation chips; 0.5 for models that do not record one)</source>
        <translation>信頼度 {confidence:.2f} 以上のオブジェクトを残します。これはモデルのしきい値です (検証チップで F1 が最も高かった値。記録のないモデルでは 0.5)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="143"/>
        <source>warning: {raster} has no coordinate reference system; the output has the raster&apos;s own (pixel or geotransform) coordinates and no CRS</source>
        <translation>警告: {raster} には座標参照系がありません。出力はラスター自身の座標 (ピクセルまたはジオトランスフォーム) を持ち、CRS はありません</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="165"/>
        <source>{network} ({backbone}) on {device}: {tiles} tiles of {tile} px, overlap {overlap} px, blended</source>
        <translation>{network} ({backbone})、デバイス {device}: {tile} ピクセルのタイル {tiles} 個、オーバーラップ {overlap} ピクセル、ブレンドあり</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="165"/>
        <source>{network} ({backbone}) on {device}: {tiles} tiles of {tile} px, overlap {overlap} px</source>
        <translation>{network} ({backbone})、デバイス {device}: {tile} ピクセルのタイル {tiles} 個、オーバーラップ {overlap} ピクセル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="189"/>
        <source>batches of {fitting} tile(s) of {tile} px instead of {batch_size}, to stay within memory</source>
        <translation>メモリに収めるため、バッチは {batch_size} ではなく {tile} ピクセルのタイル {fitting} 個にします</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="295"/>
        <source>detecting objects</source>
        <translation>オブジェクトを検出しています</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="316"/>
        <source>{written} objects written to {path}</source>
        <translation>オブジェクト {written} 個を {path} に書き出しました</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="457"/>
        <source>classifying pixels</source>
        <translation>ピクセルを分類しています</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/infer/run.py" line="466"/>
        <source>classified raster written to {path}</source>
        <translation>分類ラスターを {path} に書き出しました</translation>
    </message>
</context>
<context>
    <name>InstallAutodlEngine</name>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="26"/>
        <source>Install AutoDL Engine</source>
        <translation>AutoDL エンジンのインストール</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="29"/>
        <source>install,setup,pip,pytorch,torch,cuda,gpu,venv,python,engine,update,repair</source>
        <translation>install,setup,pip,pytorch,torch,cuda,gpu,venv,python,engine,update,repair,インストール,セットアップ,エンジン,更新,修復</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="32"/>
        <source>Installs the Python libraries the AutoDL algorithms need (PyTorch, torchvision, segmentation-models-pytorch, transformers, Optuna, …) into a Python environment of their own, in your QGIS profile folder: no administrator rights are needed and QGIS' own Python is not changed. It then sets Settings › Options › Processing › Providers › AutoDL › Python to it. Several GB are downloaded; a run takes minutes.

Run it again at any time: it checks the environment and repairs or updates it (after a plugin upgrade, or when QGIS moved to another Python).

PyTorch: with an NVIDIA driver (nvidia-smi) the CUDA build is installed, else the CPU build; the log says which.
&lt;b&gt;Add OpenMMLab&lt;/b&gt; (openmmlab): also the MMDetection and MMSegmentation networks. mmcv 2.1 is taken from the wheel folder when it holds one, else built from source: {0}, and a C++ compiler is needed. Without it those networks are listed as needing the OpenMMLab extra and skipped.
&lt;b&gt;Folder of wheels&lt;/b&gt; (wheels): for computers without internet: .whl files made elsewhere with pip download; nothing else is downloaded unless a package index is also given (e.g. a prebuilt mmcv wheel with https://pypi.org/simple for the rest).
&lt;b&gt;Package index URL&lt;/b&gt; (index_url): a PyPI mirror of your organisation.
&lt;b&gt;Proxy&lt;/b&gt; (proxy): http://[user:password@]host:port.
&lt;b&gt;PyTorch build&lt;/b&gt; (torch): auto, cuda or cpu.</source>
        <translation>AutoDL のアルゴリズムが必要とする Python ライブラリ (PyTorch、torchvision、segmentation-models-pytorch、transformers、Optuna など) を、QGIS のプロファイル フォルダー内の専用の Python 環境にインストールします。管理者権限は不要で、QGIS 自身の Python は変更されません。その後、設定 › オプション › プロセッシング › プロバイダ › AutoDL › Python をこの環境に設定します。数 GB がダウンロードされ、実行には数分かかります。

いつでも再実行できます。環境を確認し、修復または更新します (プラグインの更新後や、QGIS が別の Python に移行したとき)。

PyTorch: NVIDIA ドライバー (nvidia-smi) がある場合は CUDA ビルド、ない場合は CPU ビルドをインストールします。どちらかはログに表示されます。
&lt;b&gt;OpenMMLab を追加&lt;/b&gt; (openmmlab): MMDetection と MMSegmentation のネットワークも追加します。mmcv 2.1 は wheel のフォルダーにあればそこから、なければソースからビルドします ({0}、C++ コンパイラーが必要です)。追加しない場合、それらのネットワークは OpenMMLab 追加パッケージが必要として表示され、スキップされます。
&lt;b&gt;wheel のフォルダー&lt;/b&gt; (wheels): インターネットのないコンピューター用です。別の場所で pip download により作成した .whl ファイルを指定します。パッケージ インデックスも指定しない限り、他には何もダウンロードしません (例: ビルド済みの mmcv wheel と、その他用の https://pypi.org/simple)。
&lt;b&gt;パッケージ インデックスの URL&lt;/b&gt; (index_url): 組織の PyPI ミラー。
&lt;b&gt;プロキシ&lt;/b&gt; (proxy): http://[ユーザー:パスワード@]ホスト:ポート。
&lt;b&gt;PyTorch のビルド&lt;/b&gt; (torch): auto、cuda または cpu。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="53"/>
        <source>Add OpenMMLab (MMDetection, MMSegmentation networks)</source>
        <translation>OpenMMLab を追加 (MMDetection、MMSegmentation のネットワーク)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="55"/>
        <source>Folder of wheels (no internet)</source>
        <translation>wheel のフォルダー (インターネットなし)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="58"/>
        <source>Package index URL</source>
        <translation>パッケージ インデックスの URL</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="58"/>
        <source>Proxy</source>
        <translation>プロキシ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="62"/>
        <source>PyTorch build</source>
        <translation>PyTorch のビルド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="66"/>
        <source>Python of the AutoDL engine</source>
        <translation>AutoDL エンジンの Python</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="90"/>
        <source>Making the engine&apos;s environment {0} from QGIS&apos; Python {1}</source>
        <translation>QGIS の Python {1} からエンジンの環境 {0} を作成しています</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/install_autodl_engine.py" line="97"/>
        <source>Settings › Options › Processing › Providers › AutoDL › Python is now {0}</source>
        <translation>設定 › オプション › プロセッシング › プロバイダ › AutoDL › Python は {0} になりました</translation>
    </message>
</context>
<context>
    <name>ModelOnRasterAlgorithm</name>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="57"/>
        <source>Input Raster</source>
        <translation>入力ラスター</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="59"/>
        <source>Model Definition</source>
        <translation>モデル定義</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="59"/>
        <source>Deep learning package (*.dlpk)</source>
        <translation>ディープ ラーニングパッケージ (*.dlpk)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="65"/>
        <source>Processing Extent</source>
        <translation>処理範囲</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="67"/>
        <source>Processing Mask</source>
        <translation>処理マスク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="70"/>
        <source>Tile Size</source>
        <translation>タイル サイズ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="72"/>
        <source>Overlap</source>
        <translation>オーバーラップ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="74"/>
        <source>Batch Size</source>
        <translation>バッチ サイズ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="107"/>
        <source>The input raster must be a raster layer GDAL reads (a file or a GDAL data source), not a web or database service.</source>
        <translation>入力ラスターは GDAL で読めるラスター レイヤー (ファイルまたは GDAL データ ソース) である必要があります。Web やデータベースのサービスは使えません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="135"/>
        <source>The processing mask has no polygons.</source>
        <translation>処理マスクにポリゴンがありません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="152"/>
        <source>The engine finished without writing {0}</source>
        <translation>エンジンは {0} を書き込まずに終了しました</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="76"/>
        <source>Test Time Augmentation</source>
        <translation>テスト時の拡張</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="83"/>
        <source>Run the model with</source>
        <translation>モデルの実行方法</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="35"/>
        <source>&lt;b&gt;Input Raster&lt;/b&gt; (in_raster): the raster to process, with the bands the model was trained on.
&lt;b&gt;Model Definition&lt;/b&gt; (in_model_definition): a deep learning package (.dlpk) written by Train Using AutoDL.
&lt;b&gt;Processing Extent&lt;/b&gt; (extent): only this area is processed; the whole raster by default.
&lt;b&gt;Processing Mask&lt;/b&gt; (mask): polygons outside which nothing is processed.
&lt;b&gt;Tile Size&lt;/b&gt; (tile_size): pixels per tile; 0 uses the model&apos;s chip size.
&lt;b&gt;Overlap&lt;/b&gt; (overlap): pixels shared by neighbouring tiles; each tile is trusted in its centre only, so nothing shows at tile seams. -1 uses a quarter of the tile.
&lt;b&gt;Batch Size&lt;/b&gt; (batch_size): tiles per forward pass; lower it when the GPU runs out of memory.
&lt;b&gt;Test Time Augmentation&lt;/b&gt; (test_time_augmentation): predict each tile in its eight flips and quarter turns and average the class probabilities (pixels) or pool the boxes (objects), eight times the work; or each tile once. By default (0) as the model was chosen to predict in training: over the eight views where they validated higher.
&lt;b&gt;Device&lt;/b&gt; (device, advanced): auto (a GPU when there is one), cpu, or one of the GPUs found.
&lt;b&gt;Run the model with&lt;/b&gt; (backend, advanced): torch (the package&apos;s weights) or onnxruntime (the package&apos;s ONNX graph).</source>
        <translation>&lt;b&gt;入力ラスター&lt;/b&gt; (in_raster): 処理するラスター。モデルの学習に使ったバンドを持つこと。
&lt;b&gt;モデル定義&lt;/b&gt; (in_model_definition): 「AutoDL を使用したトレーニング」が書き出したディープ ラーニング パッケージ (.dlpk)。
&lt;b&gt;処理範囲&lt;/b&gt; (extent): この範囲だけを処理します。既定はラスター全体。
&lt;b&gt;処理マスク&lt;/b&gt; (mask): このポリゴンの外は処理しません。
&lt;b&gt;タイル サイズ&lt;/b&gt; (tile_size): タイルのピクセル数。0 はモデルのチップ サイズ。
&lt;b&gt;オーバーラップ&lt;/b&gt; (overlap): 隣り合うタイルが共有するピクセル数。各タイルは中央部分だけが使われるので、タイルの継ぎ目は現れません。-1 はタイルの 4 分の 1。
&lt;b&gt;バッチ サイズ&lt;/b&gt; (batch_size): 1 回の推論で処理するタイル数。GPU のメモリが足りないときは下げてください。
&lt;b&gt;テスト時の拡張&lt;/b&gt; (test_time_augmentation): 各タイルを 8 通りの反転と 90 度回転で予測し、クラス確率を平均 (ピクセル) またはボックスを統合 (オブジェクト) します (処理は 8 倍)。または各タイルを 1 回だけ予測します。既定 (0) は学習時に選ばれた方法: 検証で精度が高かった場合は 8 通りで予測します。
&lt;b&gt;デバイス&lt;/b&gt; (device、詳細設定): auto (GPU があれば GPU)、cpu、または検出された GPU のいずれか。
&lt;b&gt;モデルの実行方法&lt;/b&gt; (backend、詳細設定): torch (パッケージの重み) または onnxruntime (パッケージの ONNX グラフ)。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="76"/>
        <source>As the model was trained to predict</source>
        <translation>学習時に選ばれた方法で予測</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="76"/>
        <source>Yes: each tile in its eight flips and quarter turns</source>
        <translation>はい: 各タイルを 8 通りの反転と 90 度回転で予測</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="76"/>
        <source>No: each tile once</source>
        <translation>いいえ: 各タイルを 1 回だけ予測</translation>
    </message>
</context>
<context>
    <name>Networks</name>
    <message>
        <location filename="../autodl_qgis/engine/networks/adapters/base.py" line="78"/>
        <source>{what}: pretrained weights unavailable ({reason}); starting from random initialisation, which needs more data and time to reach the same accuracy</source>
        <translation>{what}: 事前学習済みの重みを利用できません ({reason})。ランダムな初期値から始めます。同じ精度に達するにはより多くのデータと時間が必要です</translation>
    </message>
</context>
<context>
    <name>NetworksSelector</name>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="81"/>
        <source>All networks that suit the training data</source>
        <translation>トレーニング データに適したすべてのネットワーク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="86"/>
        <source>Choose networks</source>
        <translation>ネットワークの選択</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="108"/>
        <source>Networks</source>
        <translation>ネットワーク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="33"/>
        <source>object detection</source>
        <translation>オブジェクト検出</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="34"/>
        <source>pixel classification</source>
        <translation>ピクセル分類</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="98"/>
        <source>{0} h reaches at most {1} of the {2} networks chosen: the others are not trained. Give more time or choose fewer.</source>
        <translation>{0} 時間では、選択した {2} 個のネットワークのうち最大 {1} 個しかトレーニングできません。残りはトレーニングされません。時間を増やすか、選択を減らしてください。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="47"/>
        <source>{0} extra</source>
        <translation>{0} 追加パッケージ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/networks_widget.py" line="48"/>
        <source>needs the {0} extra (not installed: skipped)</source>
        <translation>{0} 追加パッケージが必要 (未インストール: スキップ)</translation>
    </message>
</context>
<context>
    <name>Schedule</name>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="264"/>
        <source>rung 0: {network} ({backbone}) first, {seconds:.0f} training seconds</source>
        <translation>ラング 0: 最初に {network} ({backbone}) を {seconds:.0f} 秒間トレーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="291"/>
        <source>rung 0: {count} more candidate(s), {seconds:.0f} training seconds each, until {until:.0f} s; each goes on if those seconds buy it {passes:.1f} passes over the training chips (to be ranked, one; should it win, {epochs} of its epochs in the finalist&apos;s {final:.0f} s)</source>
        <translation>ラング 0: 残りの候補 {count} 個を各 {seconds:.0f} 秒間、{until:.0f} 秒までトレーニング。その時間でトレーニングチップを {passes:.1f} 周以上学習できる候補のみ続行（順位付けには 1 周、勝った場合は最終モデルの {final:.0f} 秒で自身のエポックを {epochs} 回）</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="313"/>
        <source>rung {rung}: {count} candidate(s) continue for {seconds:.0f} training seconds each</source>
        <translation>ラング {rung}: 候補 {count} 個が各 {seconds:.0f} 秒間トレーニングを続けます</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="328"/>
        <source>finalist {network} ({backbone}) trains until the end: {seconds:.0f} s</source>
        <translation>最終候補 {network} ({backbone}) を最後までトレーニングします: {seconds:.0f} 秒</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="168"/>
        <source>at least {seconds:.0f} s each in the first rung</source>
        <translation>最初のラングで各 {seconds:.0f} 秒以上</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="224"/>
        <source>{count} tuning proposal(s) not reached ({why})</source>
        <translation>チューニング案 {count} 個には届きません ({why})</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="228"/>
        <source>the time limit reaches the first {kept} candidate(s) in portfolio order ({why})</source>
        <translation>制限時間で届くのはポートフォリオ順で最初の候補 {kept} 個までです ({why})</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="236"/>
        <source>{count} candidate(s) not reached: {reason}</source>
        <translation>候補 {count} 個には届きません: {reason}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="280"/>
        <source>a first-rung job costs {seconds:.0f} s, as measured on {network}, and the finalist keeps {epochs} of its epochs, {needs:.0f} s</source>
        <translation>最初のラングのジョブは {network} での計測で {seconds:.0f} 秒かかり、最終候補にはそのエポック {epochs} 回分 ({needs:.0f} 秒) を残します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="260"/>
        <source>rung 0: {network} ({backbone}) first, as the finalist until its first validation after {seconds:.0f} training seconds</source>
        <translation>ラング 0: 最初に {network} ({backbone}) を最終候補として、{seconds:.0f} 秒のトレーニング後の最初の検証までトレーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/search/schedule.py" line="270"/>
        <source>{network}&apos;s first validation measured an epoch of {epoch:.0f} s and the finalist keeps {epochs} of its epochs: no time was left for a challenger, and {network} trained on to the end</source>
        <translation>{network} の最初の検証で 1 エポックが {epoch:.0f} 秒と計測され、最終候補にはそのエポック {epochs} 回分を残すため、他の候補を試す時間はなく、{network} が最後までトレーニングしました</translation>
    </message>
</context>
<context>
    <name>TrainUsingAutoDL</name>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="56"/>
        <source>Train Using AutoDL</source>
        <translation>AutoDL を使用したトレーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="59"/>
        <source>deep learning,automl,train,object detection,pixel classification,dlpk</source>
        <translation>ディープ ラーニング,AutoML,トレーニング,オブジェクト検出,ピクセル分類,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="86"/>
        <source>Input Training Data</source>
        <translation>入力トレーニング データ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="88"/>
        <source>Output Model</source>
        <translation>出力モデル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="88"/>
        <source>Deep learning package (*.dlpk)</source>
        <translation>ディープ ラーニングパッケージ (*.dlpk)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="90"/>
        <source>Pretrained Model</source>
        <translation>事前トレーニング済みモデル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="90"/>
        <source>Model definition (*.dlpk *.emd)</source>
        <translation>モデル定義 (*.dlpk *.emd)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="93"/>
        <source>Total Time Limit (Hours)</source>
        <translation>合計時間制限 (時間)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="96"/>
        <source>AutoDL Mode</source>
        <translation>AutoDL モード</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="100"/>
        <source>Networks</source>
        <translation>ネットワーク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="104"/>
        <source>Save Evaluated Models</source>
        <translation>評価済みモデルの保存</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="107"/>
        <source>Output model file</source>
        <translation>出力モデル ファイル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="110"/>
        <source>Training report</source>
        <translation>トレーニング レポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="111"/>
        <source>Leaderboard</source>
        <translation>リーダーボード</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="62"/>
        <source>Trains a deep learning model by building training pipelines and automating much of the training process: data augmentation, model selection, hyperparameter tuning and batch size deduction.

&lt;b&gt;Input Training Data&lt;/b&gt; (in_data): the folder written by an Export Training Data For Deep Learning tool, in the Classified_Tiles, PASCAL_VOC_rectangles, KITTI_rectangles or RCNN_Masks metadata format. It decides the task: object detection or pixel classification.
&lt;b&gt;Output Model&lt;/b&gt; (out_model): the trained model, saved as a deep learning package (.dlpk).
&lt;b&gt;Pretrained Model&lt;/b&gt; (pretrained_model): a .dlpk or .emd to fine-tune. It must be a model of the same type; training then uses its network and backbone only. Classes are matched by name.
&lt;b&gt;Total Time Limit (Hours)&lt;/b&gt; (total_time_limit): the time for the whole search, 2 hours by default.
&lt;b&gt;AutoDL Mode&lt;/b&gt; (autodl_mode): BASIC trains every selected network with its default backbone and chip scale, in the order of a ranked table; the best continue training and the winner is trained to the end of the time limit. ADVANCED also tries other backbones, learning rates, chip scales and augmentation strengths for the two leading networks (Optuna TPE).
&lt;b&gt;Networks&lt;/b&gt; (networks): the networks to try, chosen in a list (names separated by commas on the command line, e.g. FasterRCNN,RetinaNet); none means all that suit the data.
&lt;b&gt;Save Evaluated Models&lt;/b&gt; (save_evaluated_models): also save every evaluated model, in a folder beside the output model.
&lt;b&gt;Device&lt;/b&gt; (device, advanced): auto (a GPU when there is one), cpu, or one of the GPUs found.

Object detection models are ranked by average precision at IoU 0.5, pixel classification models by mean IoU.</source>
        <translation>トレーニング パイプラインを構築し、データ拡張、モデルの選択、ハイパーパラメーターの調整、バッチ サイズの推定など、トレーニング プロセスの多くを自動化してディープ ラーニング モデルをトレーニングします。

&lt;b&gt;入力トレーニング データ&lt;/b&gt; (in_data): 「ディープ ラーニング用のトレーニング データをエクスポート」ツールが Classified_Tiles、PASCAL_VOC_rectangles、KITTI_rectangles、RCNN_Masks のメタデータ形式で書き出したフォルダー。タスク (オブジェクト検出またはピクセル分類) はこれで決まります。
&lt;b&gt;出力モデル&lt;/b&gt; (out_model): トレーニング済みモデル。ディープ ラーニング パッケージ (.dlpk) として保存されます。
&lt;b&gt;事前トレーニング済みモデル&lt;/b&gt; (pretrained_model): ファイン チューニングする .dlpk または .emd。同じ種類のモデルである必要があり、その場合はそのネットワークとバックボーンだけでトレーニングします。クラスは名前で対応付けられます。
&lt;b&gt;合計時間制限 (時間)&lt;/b&gt; (total_time_limit): 探索全体にかける時間。既定は 2 時間です。
&lt;b&gt;AutoDL モード&lt;/b&gt; (autodl_mode): BASIC は選択したすべてのネットワークを既定のバックボーンとチップ スケールで、順位表の順にトレーニングします。上位のモデルはトレーニングを続け、最良のモデルは時間制限の終わりまでトレーニングされます。ADVANCED は、上位 2 つのネットワークについて、ほかのバックボーン、学習率、チップ スケール、データ拡張の強さも試します (Optuna TPE)。
&lt;b&gt;ネットワーク&lt;/b&gt; (networks): 試すネットワーク。一覧から選択します (コマンド ラインではカンマ区切りの名前。例: FasterRCNN,RetinaNet)。何も選択しない場合は、データに適したすべてのネットワークを使用します。
&lt;b&gt;評価済みモデルの保存&lt;/b&gt; (save_evaluated_models): 評価したすべてのモデルも、出力モデルの横のフォルダーに保存します。
&lt;b&gt;デバイス&lt;/b&gt; (device、詳細設定): auto (GPU があれば GPU)、cpu、または検出された GPU のいずれか。

オブジェクト検出モデルは IoU 0.5 での平均適合率で、ピクセル分類モデルは平均 IoU で順位付けされます。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="119"/>
        <source>Unknown network(s): {0}. Networks: {1}</source>
        <translation>不明なネットワーク: {0}。使用できるネットワーク: {1}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="160"/>
        <source>The engine finished without writing {0}</source>
        <translation>エンジンは {0} を書き込まずに終了しました</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="133"/>
        <source>{0}: training report</source>
        <translation>{0}: トレーニング レポート</translation>
    </message>
</context>
<context>
    <name>Trainer</name>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="639"/>
        <source>{name}: choosing the batch size</source>
        <translation>{name}: バッチ サイズを決定しています</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="865"/>
        <source>{name}: epoch {epoch} train loss {loss:.4f}, validation {metric_name} {metric:.4f}</source>
        <translation>{name}: エポック {epoch} トレーニング損失 {loss:.4f}、検証 {metric_name} {metric:.4f}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="830"/>
        <source>{name}: {metric_name} {plain:.4f} as predicted, {augmented:.4f} over eight flips and quarter turns ({chips} validation chips): the model will predict {how} by default</source>
        <translation>{name}: {metric_name} は通常の予測で {plain:.4f}、8 通りの反転と 90 度回転で {augmented:.4f} (検証チップ {chips} 枚): モデルは既定で{how}予測します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="63"/>
        <source>over the eight views</source>
        <translation>8 通りの向きで</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="63"/>
        <source>each tile once</source>
        <translation>各タイルを 1 回だけ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="758"/>
        <source>{name}: the rest of the run ({share:.0%} of it) trains on the {chips} training + validation chips without validating; the {kept} at its end will be kept</source>
        <translation>{name}: 残りの実行時間 ({share:.0%}) は検証せずにトレーニング + 検証チップ {chips} 枚でトレーニングします。終了時点の{kept}を残します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="758"/>
        <source>moving average of the weights</source>
        <translation>重みの移動平均</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="758"/>
        <source>weights</source>
        <translation>重み</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="822"/>
        <source>{name}: test-time augmentation not chosen: its validation reached {chips} of {total} chips before the time ran out</source>
        <translation>{name}: テスト時の拡張は選ばれませんでした: 時間切れまでに検証できたのはチップ {total} 枚中 {chips} 枚です</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="865"/>
        <source>{name}: epoch {epoch} train loss {loss:.4f}, validation {metric_name} {metric:.4f} (moving average {average:.4f})</source>
        <translation>{name}: エポック {epoch} トレーニング損失 {loss:.4f}、検証 {metric_name} {metric:.4f} (移動平均 {average:.4f})</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="812"/>
        <source>{name}: test-time augmentation not tried: validating it would take about {cost:.0f} s, more than {share:.0%} of the {total:.0f} s of this training or twice the {remaining:.0f} s left</source>
        <translation>{name}: テスト時の拡張は試しません: その検証には約 {cost:.0f} 秒かかり、このトレーニングの {total:.0f} 秒の {share:.0%} か、残り {remaining:.0f} 秒の 2 倍を超えます</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="851"/>
        <source>{name}: keeps objects from confidence {confidence:.2f}, where F1 peaked on {chips} validation chips after the refit</source>
        <translation>{name}: 信頼度 {confidence:.2f} 以上のオブジェクトを残します (検証チップも加えたトレーニングの後、検証チップ {chips} 枚で F1 が最大になった値)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="830"/>
        <source>{name}: {metric_name} {augmented:.4f} over eight flips and quarter turns ({chips} validation chips, which the refit trained on and so cannot choose): the model will predict over the eight views by default</source>
        <translation>{name}: {metric_name} は 8 通りの反転と 90 度回転で {augmented:.4f} (検証チップ {chips} 枚。再学習がトレーニングに使ったチップのため選択には使えません): モデルは既定で 8 通りのビューで予測します</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/engine/train/trainer.py" line="665"/>
        <source>{name}: the last {share:.0%} of the run trains on chips as they are, no mosaics</source>
        <translation>{name}: 実行の最後の {share:.0%} はモザイクにせず、チップそのままでトレーニングします</translation>
    </message>
</context>
</TS>
