<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>AutodlProvider</name>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="24"/>
        <source>AutoDL</source>
        <translation>AutoDL</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/provider.py" line="27"/>
        <source>AutoDL: deep learning for rasters</source>
        <translation>AutoDL: ラスターのための深層学習</translation>
    </message>
</context>
<context>
    <name>TrainUsingAutoDL</name>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="159"/>
        <source>Train Using AutoDL</source>
        <translation>AutoDL を使用したトレーニング</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="40"/>
        <source>Deep learning</source>
        <translation>深層学習</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="46"/>
        <source>deep learning,automl,train,object detection,pixel classification,dlpk</source>
        <translation>深層学習,AutoML,トレーニング,物体検出,ピクセル分類,dlpk</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="52"/>
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
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="74"/>
        <source>Input Training Data</source>
        <translation>入力トレーニング データ</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="76"/>
        <source>Output Model</source>
        <translation>出力モデル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="76"/>
        <source>Deep learning package (*.dlpk)</source>
        <translation>深層学習パッケージ (*.dlpk)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="78"/>
        <source>Pretrained Model</source>
        <translation>事前トレーニング済みモデル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="78"/>
        <source>Model definition (*.dlpk *.emd)</source>
        <translation>モデル定義 (*.dlpk *.emd)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="81"/>
        <source>Total Time Limit (Hours)</source>
        <translation>合計時間制限 (時間)</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="84"/>
        <source>AutoDL Mode</source>
        <translation>AutoDL モード</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="86"/>
        <source>Networks</source>
        <translation>ネットワーク</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="89"/>
        <source>Save Evaluated Models</source>
        <translation>評価済みモデルの保存</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="91"/>
        <source>Device</source>
        <translation>デバイス</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="94"/>
        <source>Output model file</source>
        <translation>出力モデル ファイル</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="95"/>
        <source>Training report</source>
        <translation>トレーニング レポート</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="96"/>
        <source>Leaderboard</source>
        <translation>リーダーボード</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="125"/>
        <source>{0} do(es) not suit {1} training data; networks that do: {2}</source>
        <translation>{0} は {1} トレーニング データに適していません。適しているネットワーク: {2}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="147"/>
        <source>A library is missing ({0}): {1}</source>
        <translation>ライブラリがありません ({0}): {1}</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="136"/>
        <source>{0} is a folder: give a file name such as model.dlpk</source>
        <translation>{0} はフォルダーです。model.dlpk のようなファイル名を指定してください</translation>
    </message>
    <message>
        <location filename="../autodl_qgis/processing/train_using_autodl.py" line="163"/>
        <source>Cancelled: nothing was written.</source>
        <translation>キャンセルされました。何も書き込まれていません。</translation>
    </message>
</context>
</TS>
