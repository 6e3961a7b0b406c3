# The public names of `import cnnlab`: this file is the one list of them. Editors and type checkers read it,
# and cnnlab/__init__.py reads it at import time to load each name on first use (`import cnnlab` stays
# instant, and `cnnlab shape` never loads torch). Add a public name here and nowhere else.
from . import publish as publish  # callable: cnnlab.publish(subjects, output) writes the page
from . import show as show
from .api import draw as draw
from .api import summary as summary
from .api import trace_graph as trace_graph
from .attribution import Saliency as Saliency
from .attribution import saliency as saliency
from .errors import SettingError as SettingError
from .experiments import ExperimentResult as ExperimentResult
from .experiments import experiment as experiment
from .experiments import list_experiments as list_experiments
from .inspection.graph import NetworkGraph as NetworkGraph
from .inspection.layer_comparison import compare_layers as compare_layers
from .inspection.summary import ModelSummary as ModelSummary
from .models import create_model as create_model
from .models import get_spec as get_spec
from .models import list_models as list_models
from .models import load_torchvision_weights as load_torchvision_weights
from .practice import CheckResult as CheckResult
from .practice import ExerciseList as ExerciseList
from .practice import check as check
from .practice import exercises as exercises
from .publish.page import PublishedPage as PublishedPage
from .run import EpochMetrics as EpochMetrics
from .run import Run as Run
from .run import RunSummary as RunSummary
from .run import train as train
from .training.config import TrainConfig as TrainConfig
from .training.evaluation import Evaluation as Evaluation
from .training.export import OnnxExport as OnnxExport
from .training.loop import TrainingInterrupted as TrainingInterrupted
from .training.loop import TrainingStopped as TrainingStopped
from .training.prediction import Prediction as Prediction
from .viz.animation import Animation as Animation
from .viz.animation import animate as animate
from .viz.architecture import Drawing as Drawing

__version__: str
