<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>AutodlAlgorithm</name>
    <message>
        <location filename="../autodl_qgis/processing/algorithm.py" line="23"/>
        <source>Deep learning</source>
        <translation>深層学習</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/algorithm.py" line="33"/>
        <source>Device</source>
        <translation>デバイス</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/algorithm.py" line="43"/>
        <source>A library is missing ({0}): {1}</source>
        <translation>ライブラリがありません ({0}): {1}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/algorithm.py" line="55"/>
        <source>Cancelled: nothing was written.</source>
        <translation>キャンセルされました。何も書き込まれていません。</translation>
    </message>
</context>
<context>
    <name>AutodlProvider</name>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="28"/>
        <source>AutoDL</source>
        <translation>AutoDL</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="31"/>
        <source>AutoDL: deep learning for rasters</source>
        <translation>AutoDL: ラスターのための深層学習</translation>
    </message>
</context>
<context>
    <name>ClassifyPixelsUsingDeepLearning</name>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="17"/>
        <source>Classify Pixels Using Deep Learning</source>
        <translation>ディープ ラーニングを使用したピクセル分類</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="20"/>
        <source>deep learning,pixel classification,segmentation,land cover,inference,dlpk</source>
        <translation>深層学習,ピクセル分類,セグメンテーション,土地被覆,推論,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="23"/>
        <source>Runs a trained pixel classification model on a raster and writes a single-band GeoTIFF of class values on the raster&apos;s grid, with the model&apos;s class colours; 0 is NoData (background and pixels outside the extent or mask).

&lt;b&gt;Output Classified Raster&lt;/b&gt; (out_classified_raster): a GeoTIFF file.
</source>
        <translation>学習済みのピクセル分類モデルをラスターに適用し、ラスターと同じグリッドでクラス値の単バンド GeoTIFF を、モデルのクラスの色で書き出します。0 は NoData (背景、および範囲やマスクの外のピクセル) です。

&lt;b&gt;出力分類ラスター&lt;/b&gt; (out_classified_raster): GeoTIFF ファイル。
</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/classify_pixels_using_deep_learning.py" line="31"/>
        <source>Output Classified Raster</source>
        <translation>出力分類ラスター</translation>
    </message>
</context>
<context>
    <name>DetectObjectsUsingDeepLearning</name>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="18"/>
        <source>Detect Objects Using Deep Learning</source>
        <translation>ディープ ラーニングを使用したオブジェクトの検出</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="21"/>
        <source>deep learning,object detection,inference,dlpk</source>
        <translation>深層学習,物体検出,推論,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="24"/>
        <source>Runs a trained object detection model on a raster and writes the objects it finds as polygons in the raster&apos;s coordinate reference system, with their class name (Class), class value (ClassValue) and confidence (Confidence). Objects found twice where tiles overlap are kept once.

&lt;b&gt;Output Detected Objects&lt;/b&gt; (out_detected_objects): a GeoPackage, Shapefile, GeoJSON or FlatGeobuf file.
&lt;b&gt;Threshold&lt;/b&gt; (threshold): the lowest confidence kept, 0.5 by default.
&lt;b&gt;Max Overlap Ratio&lt;/b&gt; (max_overlap_ratio): two objects of one class overlapping more than this (intersection over union) are one object; the more confident is kept.
</source>
        <translation>学習済みの物体検出モデルをラスターに適用し、見つかったオブジェクトをラスターの座標参照系のポリゴンとして、クラス名 (Class)、クラス値 (ClassValue)、信頼度 (Confidence) とともに書き出します。タイルの重なりで二重に見つかったオブジェクトは 1 つだけ残ります。

&lt;b&gt;出力検出オブジェクト&lt;/b&gt; (out_detected_objects): GeoPackage、Shapefile、GeoJSON または FlatGeobuf ファイル。
&lt;b&gt;しきい値&lt;/b&gt; (threshold): 残す最低の信頼度。既定は 0.5。
&lt;b&gt;最大オーバーラップ率&lt;/b&gt; (max_overlap_ratio): 同じクラスの 2 つのオブジェクトの重なり (IoU) がこの値を超えると 1 つとみなし、信頼度の高い方を残します。
</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="36"/>
        <source>Output Detected Objects</source>
        <translation>出力検出オブジェクト</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="38"/>
        <source>Threshold</source>
        <translation>しきい値</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="41"/>
        <source>Max Overlap Ratio</source>
        <translation>最大オーバーラップ率</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/detect_objects_using_deep_learning.py" line="59"/>
        <source>{0} objects found</source>
        <translation>{0} 個のオブジェクトが見つかりました</translation>
    </message>
</context>
<context>
    <name>ExportTrainingDataForDeepLearning</name>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="30"/>
        <source>Export Training Data For Deep Learning</source>
        <translation>ディープ ラーニング用のトレーニング データをエクスポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="33"/>
        <source>deep learning,training data,chips,labels,export</source>
        <translation>深層学習,トレーニング データ,チップ,ラベル,エクスポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="36"/>
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
        <translation>ラスターを画像チップに切り出し、各チップのラベルを ArcGIS の「ディープ ラーニング用のトレーニング データをエクスポート」と同じフォルダー構成で書き出します。Train Using AutoDL (この環境でも ArcGIS でも) がそのまま読めます。

&lt;b&gt;入力ラスター&lt;/b&gt; (in_raster): ジオリファレンスされた画像。
&lt;b&gt;出力フォルダー&lt;/b&gt; (out_folder): 新規または空のフォルダー。
&lt;b&gt;入力クラス データ&lt;/b&gt; (in_class_data): ラベル付きフィーチャのベクター レイヤー (ポリゴン。ポイントとラインはバッファー半径を指定) または分類ラスター (Classified_Tiles のみ。0 は背景)。
&lt;b&gt;クラス値フィールド&lt;/b&gt; (class_value_field): 各フィーチャのクラスを持つフィールド。整数 (Classname フィールドがあればその名前) または名前。
&lt;b&gt;画像形式&lt;/b&gt; (image_chip_format): TIFF、PNG、JPEG のチップ。
&lt;b&gt;タイル サイズ&lt;/b&gt; (tile_size) と &lt;b&gt;ストライド&lt;/b&gt; (stride): チップのサイズと移動量 (ピクセル)。ストライドがタイル サイズより小さいとチップが重なります。
&lt;b&gt;フィーチャなしのタイルの出力&lt;/b&gt; (output_nofeature_tiles): ALL_TILES はフィーチャのないチップも残します (モデルがオブジェクトでないものを学習します)。ONLY_TILES_WITH_FEATURES はそれらをスキップします。
&lt;b&gt;メタデータ形式&lt;/b&gt; (metadata_format): ピクセル分類には Classified_Tiles、物体検出には PASCAL_VOC_rectangles または KITTI_rectangles、インスタンス マスクには RCNN_Masks。
&lt;b&gt;バッファー半径&lt;/b&gt; (buffer_radius): マップ単位。ポイントとラインをポリゴンにします。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="55"/>
        <source>Input Raster</source>
        <translation>入力ラスター</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="56"/>
        <source>Output Folder</source>
        <translation>出力フォルダー</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="57"/>
        <source>Input Class Data</source>
        <translation>入力クラス データ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="58"/>
        <source>Class Value Field</source>
        <translation>クラス値フィールド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="61"/>
        <source>Image Format</source>
        <translation>画像形式</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="64"/>
        <source>Tile Size</source>
        <translation>タイル サイズ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="66"/>
        <source>Stride</source>
        <translation>ストライド</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="68"/>
        <source>Output No Feature Tiles</source>
        <translation>フィーチャなしのタイルの出力</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="71"/>
        <source>Metadata Format</source>
        <translation>メタデータ形式</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="74"/>
        <source>Buffer Radius</source>
        <translation>バッファー半径</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="83"/>
        <source>The input class data is not a layer QGIS can open.</source>
        <translation>入力クラス データは QGIS で開けるレイヤーではありません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="89"/>
        <source>The classified raster must be a raster GDAL reads.</source>
        <translation>分類ラスターは GDAL で読めるラスターである必要があります。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="95"/>
        <source>Could not copy the class data: {0}</source>
        <translation>クラス データをコピーできませんでした: {0}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="101"/>
        <source>The input raster must be a raster layer GDAL reads.</source>
        <translation>入力ラスターは GDAL で読めるラスター レイヤーである必要があります。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/export_training_data_for_deep_learning.py" line="122"/>
        <source>{0} chips written, {1} windows without features skipped</source>
        <translation>{0} 個のチップを書き込み、フィーチャのない {1} 個のウィンドウをスキップしました</translation>
    </message>
</context>
<context>
    <name>ModelOnRasterAlgorithm</name>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="39"/>
        <source>Input Raster</source>
        <translation>入力ラスター</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="41"/>
        <source>Model Definition</source>
        <translation>モデル定義</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="41"/>
        <source>Deep learning package (*.dlpk)</source>
        <translation>深層学習パッケージ (*.dlpk)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="47"/>
        <source>Processing Extent</source>
        <translation>処理範囲</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="49"/>
        <source>Processing Mask</source>
        <translation>処理マスク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="52"/>
        <source>Tile Size</source>
        <translation>タイル サイズ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="54"/>
        <source>Overlap</source>
        <translation>オーバーラップ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="56"/>
        <source>Batch Size</source>
        <translation>バッチ サイズ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="64"/>
        <source>The input raster must be a raster layer GDAL reads (a file or a GDAL data source), not a web or database service.</source>
        <translation>入力ラスターは GDAL で読めるラスター レイヤー (ファイルまたは GDAL データ ソース) である必要があります。Web やデータベースのサービスは使えません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="77"/>
        <source>The processing mask has no polygons.</source>
        <translation>処理マスクにポリゴンがありません。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/inference.py" line="24"/>
        <source>&lt;b&gt;Input Raster&lt;/b&gt; (in_raster): the raster to process, with the bands the model was trained on.
&lt;b&gt;Model Definition&lt;/b&gt; (in_model_definition): a deep learning package (.dlpk) written by Train Using AutoDL.
&lt;b&gt;Processing Extent&lt;/b&gt; (extent): only this area is processed; the whole raster by default.
&lt;b&gt;Processing Mask&lt;/b&gt; (mask): polygons outside which nothing is processed.
&lt;b&gt;Tile Size&lt;/b&gt; (tile_size): pixels per tile; 0 uses the model&apos;s chip size.
&lt;b&gt;Overlap&lt;/b&gt; (overlap): pixels shared by neighbouring tiles; each tile is trusted in its centre only, so nothing shows at tile seams. -1 uses a quarter of the tile.
&lt;b&gt;Batch Size&lt;/b&gt; (batch_size): tiles per forward pass; lower it when the GPU runs out of memory.
&lt;b&gt;Device&lt;/b&gt; (device, advanced): auto (a GPU when there is one), cpu, or cuda:N.</source>
        <translation>&lt;b&gt;入力ラスター&lt;/b&gt; (in_raster): 処理するラスター。モデルの学習に使ったバンドを持つこと。
&lt;b&gt;モデル定義&lt;/b&gt; (in_model_definition): Train Using AutoDL が書き出した深層学習パッケージ (.dlpk)。
&lt;b&gt;処理範囲&lt;/b&gt; (extent): この範囲だけを処理します。既定はラスター全体。
&lt;b&gt;処理マスク&lt;/b&gt; (mask): このポリゴンの外は処理しません。
&lt;b&gt;タイル サイズ&lt;/b&gt; (tile_size): タイルのピクセル数。0 はモデルのチップ サイズ。
&lt;b&gt;オーバーラップ&lt;/b&gt; (overlap): 隣り合うタイルが共有するピクセル数。各タイルは中央部分だけが使われるので、タイルの継ぎ目は現れません。-1 はタイルの 4 分の 1。
&lt;b&gt;バッチ サイズ&lt;/b&gt; (batch_size): 1 回の推論で処理するタイル数。GPU のメモリが足りないときは下げてください。
&lt;b&gt;デバイス&lt;/b&gt; (device、詳細): auto (GPU があれば GPU)、cpu、または cuda:N。</translation>
    </message>
</context>
<context>
    <name>TrainUsingAutoDL</name>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="138"/>
        <source>Train Using AutoDL</source>
        <translation>AutoDL を使用したトレーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="34"/>
        <source>deep learning,automl,train,object detection,pixel classification,dlpk</source>
        <translation>深層学習,AutoML,トレーニング,物体検出,ピクセル分類,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="37"/>
        <source>Trains a deep learning model by building training pipelines and automating much of the training process: data augmentation, model selection, hyperparameter tuning and batch size deduction.

&lt;b&gt;Input Training Data&lt;/b&gt; (in_data): the folder written by an Export Training Data For Deep Learning tool, in the Classified_Tiles, PASCAL_VOC_rectangles, KITTI_rectangles or RCNN_Masks metadata format. It decides the task: object detection or pixel classification.
&lt;b&gt;Output Model&lt;/b&gt; (out_model): the trained model, saved as a deep learning package (.dlpk).
&lt;b&gt;Pretrained Model&lt;/b&gt; (pretrained_model): a .dlpk or .emd to fine-tune. It must be a model of the same type; training then uses its network and backbone only. Classes are matched by name.
&lt;b&gt;Total Time Limit (Hours)&lt;/b&gt; (total_time_limit): the time for the whole search, 2 hours by default.
&lt;b&gt;AutoDL Mode&lt;/b&gt; (autodl_mode): BASIC trains every selected network with its default backbone. ADVANCED evaluates the networks in the first half of the time and tunes the best two (backbones, learning rate, batch size, augmentation) in the second half.
&lt;b&gt;Networks&lt;/b&gt; (networks): the networks to try; none selected means all that suit the data.
&lt;b&gt;Save Evaluated Models&lt;/b&gt; (save_evaluated_models): also save every evaluated model, in a folder beside the output model.
&lt;b&gt;Device&lt;/b&gt; (device, advanced): auto (a GPU when there is one), cpu, or cuda:N.

Object detection models are ranked by average precision at IoU 0.5, pixel classification models by mean IoU.</source>
        <translation>トレーニング パイプラインを構築し、データ拡張、モデルの選択、ハイパーパラメーターの調整、バッチ サイズの推定など、トレーニング プロセスの多くを自動化して深層学習モデルをトレーニングします。

&lt;b&gt;入力トレーニング データ&lt;/b&gt; (in_data): 「深層学習のトレーニング データをエクスポート」ツールが Classified_Tiles、PASCAL_VOC_rectangles、KITTI_rectangles、RCNN_Masks のメタデータ形式で書き出したフォルダー。タスク (物体検出またはピクセル分類) はこれで決まります。
&lt;b&gt;出力モデル&lt;/b&gt; (out_model): トレーニング済みモデル。深層学習パッケージ (.dlpk) として保存されます。
&lt;b&gt;事前トレーニング済みモデル&lt;/b&gt; (pretrained_model): ファイン チューニングする .dlpk または .emd。同じ種類のモデルである必要があり、その場合はそのネットワークとバックボーンだけでトレーニングします。クラスは名前で対応付けられます。
&lt;b&gt;合計時間制限 (時間)&lt;/b&gt; (total_time_limit): 探索全体にかける時間。既定は 2 時間です。
&lt;b&gt;AutoDL モード&lt;/b&gt; (autodl_mode): BASIC は選択したすべてのネットワークを既定のバックボーンでトレーニングします。ADVANCED は時間の前半でネットワークを評価し、後半で上位 2 つを調整します (バックボーン、学習率、バッチ サイズ、データ拡張)。
&lt;b&gt;ネットワーク&lt;/b&gt; (networks): 試すネットワーク。何も選択しない場合は、データに適したすべてのネットワークを使用します。
&lt;b&gt;評価済みモデルの保存&lt;/b&gt; (save_evaluated_models): 評価したすべてのモデルも、出力モデルの横のフォルダーに保存します。
&lt;b&gt;デバイス&lt;/b&gt; (device、詳細設定): auto (GPU があれば GPU)、cpu、または cuda:N。

物体検出モデルは IoU 0.5 での平均適合率で、ピクセル分類モデルは平均 IoU で順位付けされます。</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="59"/>
        <source>Input Training Data</source>
        <translation>入力トレーニング データ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="61"/>
        <source>Output Model</source>
        <translation>出力モデル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="61"/>
        <source>Deep learning package (*.dlpk)</source>
        <translation>深層学習パッケージ (*.dlpk)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="63"/>
        <source>Pretrained Model</source>
        <translation>事前トレーニング済みモデル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="63"/>
        <source>Model definition (*.dlpk *.emd)</source>
        <translation>モデル定義 (*.dlpk *.emd)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="66"/>
        <source>Total Time Limit (Hours)</source>
        <translation>合計時間制限 (時間)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="69"/>
        <source>AutoDL Mode</source>
        <translation>AutoDL モード</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="71"/>
        <source>Networks</source>
        <translation>ネットワーク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="74"/>
        <source>Save Evaluated Models</source>
        <translation>評価済みモデルの保存</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="77"/>
        <source>Output model file</source>
        <translation>出力モデル ファイル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="78"/>
        <source>Training report</source>
        <translation>トレーニング レポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="79"/>
        <source>Leaderboard</source>
        <translation>リーダーボード</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="111"/>
        <source>{0} do(es) not suit {1} training data; networks that do: {2}</source>
        <translation>{0} は {1} トレーニング データに適していません。適しているネットワーク: {2}</translation>
    </message>
</context>
</TS>
