import { IPipelineJSON, IStepJSON } from '../model/definition';

/** A step as an Orchest file writes it. */
export function step(
  uuid: string,
  parents: string[] = [],
  extra: Partial<IStepJSON> = {}
): IStepJSON {
  return {
    uuid,
    title: uuid,
    file_path: `${uuid}.ipynb`,
    incoming_connections: parents,
    environment: 'env',
    kernel: { name: 'python', display_name: 'Python 3' },
    parameters: {},
    meta_data: { hidden: false, position: [0, 0] },
    ...extra
  };
}

export function pipelineOf(...steps: IStepJSON[]): IPipelineJSON {
  return {
    name: 'P',
    uuid: 'pipeline-uuid',
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps: Object.fromEntries(steps.map(s => [s.uuid, s]))
  };
}
