import { LabIcon } from '@jupyterlab/ui-components';

import pipelineSvg from '../style/icons/pipeline.svg';

/**
 * A small DAG: the icon of pipeline files and of the "New Pipeline" command.
 */
export const pipelineIcon = new LabIcon({
  name: 'jupyter-orchest:pipeline',
  svgstr: pipelineSvg
});
